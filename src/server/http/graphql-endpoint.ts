import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer, HTTPGraphQLRequest } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import bodyParser from 'body-parser';
import cors from 'cors';
import type { Config } from '../../config/config';
import type { ContextFactory } from '../../graphql/context-factory';
import type { GraphQLContext } from '../../graphql/context';
import { ErrorCode, errorMessages } from '../../errors/error-codes';
import { clientIpOf, compileTrust } from './client-ip';
import { operationContextOf } from './operation-span';

/** Bodies larger than this are refused before parsing; a long prompt is ~128 KB. */
const MAX_BODY_BYTES = '1mb';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Middleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * The `/graphql` endpoint on plain `node:http`, the way Apollo's own standalone server does it:
 * CORS, JSON body, then Apollo. Express stays for everything else (IDE, health), but routing
 * every GraphQL request through it cost about as much as the whole Apollo pipeline
 * (router layers, `res.send`'s ETag hashing), measured by `npm run bench -- --only providers`.
 */
export function createGraphQLEndpoint(options: {
  config: Config;
  apollo: ApolloServer<GraphQLContext>;
  contextFactory: ContextFactory;
}): Handler {
  const { config, apollo, contextFactory } = options;
  const trust = compileTrust(config.http.trustProxy);
  const corsHandler = cors({
    origin: config.http.corsOrigins,
    credentials: true,
    exposedHeaders: ['x-request-id'],
  }) as Middleware;
  const jsonHandler = bodyParser.json({ limit: MAX_BODY_BYTES }) as Middleware;

  const execute = async (req: IncomingMessage, res: ServerResponse) => {
    // The operation's span; the Apollo plugin names it once the operation is known.
    const operation = operationContextOf(req);
    try {
      await operation.within(() => answer(req, res));
    } finally {
      operation.end(res.statusCode);
    }
  };

  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = req.url ?? '';
    const queryStart = url.indexOf('?');
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      headers,
      search: queryStart >= 0 ? url.slice(queryStart) : '',
      body: (req as { body?: unknown }).body,
    };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => {
        const requestId = contextFactory.requestIdOf(req);
        res.setHeader('x-request-id', requestId);
        return contextFactory.forHttp(req, clientIpOf(req, trust), requestId);
      },
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };

  return (req, res) => {
    corsHandler(req, res, (corsError) => {
      if (corsError) return sendBodyError(res, corsError);
      // A body of any other type would reach Apollo empty and be refused with a vaguer message.
      if (req.method === 'POST' && !isJsonBody(req)) {
        return sendRefusal(
          res,
          415,
          'Send the operation as a JSON body with "Content-Type: application/json".',
        );
      }
      jsonHandler(req, res, (bodyError) => {
        if (bodyError) return sendBodyError(res, bodyError);
        execute(req, res).catch((error: unknown) => sendBodyError(res, error));
      });
    });
  };
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
function isJsonBody(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (!type) return false;
  return type.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * A body that is not JSON, too large, or in an unsupported charset, as a GraphQL error with the
 * parser's 4xx status and BAD_REQUEST. Anything else is ours: 500 with no detail.
 */
function sendBodyError(res: ServerResponse, error: unknown): void {
  const parserError = error as { status?: number; expose?: boolean; type?: string };
  const status =
    parserError.expose && typeof parserError.status === 'number' && parserError.status < 500
      ? parserError.status
      : 500;
  const message =
    status === 413
      ? `The request body is larger than ${MAX_BODY_BYTES}.`
      : status === 415
        ? 'The request body must be UTF-8 JSON.'
        : status < 500
          ? 'The request body is not valid JSON.'
          : errorMessages.INTERNAL_SERVER_ERROR;
  sendRefusal(res, status, message);
}

function sendRefusal(res: ServerResponse, status: number, message: string): void {
  const code = status < 500 ? ErrorCode.BAD_REQUEST : ErrorCode.INTERNAL_SERVER_ERROR;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}
