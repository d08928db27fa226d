import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';

export interface HttpResult<TData> {
  status: number;
  data?: TData | null;
  errors?: GraphQLFormattedError[];
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  headers?: Record<string, string>;
}

/** A plain GraphQL-over-HTTP client, as a codegen'd frontend sends: POST JSON, typed documents. */
export class GraphQLHttpClient {
  constructor(readonly url: string) {}

  async request<TData, TVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    variables?: TVariables,
    options: RequestOptions = {},
  ): Promise<HttpResult<TData>> {
    return this.raw<TData>(
      print(document),
      variables as Record<string, unknown> | undefined,
      options,
    );
  }

  async raw<TData = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options: RequestOptions = {},
  ): Promise<HttpResult<TData>> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as {
      data?: TData | null;
      errors?: GraphQLFormattedError[];
    };
    return {
      status: response.status,
      data: body.data,
      errors: body.errors,
      headers: response.headers,
    };
  }

  /** The data of a call that must succeed; throws with the errors otherwise. */
  async data<TData, TVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    variables?: TVariables,
    options: RequestOptions = {},
  ): Promise<TData> {
    const result = await this.request(document, variables, options);
    if (result.errors?.length || !result.data) {
      throw new Error(`GraphQL call failed (${result.status}): ${JSON.stringify(result.errors)}`);
    }
    return result.data;
  }
}

/** The `extensions.code` of the first error, for assertions. */
export function errorCode(result: { errors?: readonly GraphQLFormattedError[] }): unknown {
  return result.errors?.[0]?.extensions?.code;
}

/** The `extensions.reason` of the first error: why a token was refused (refresh or sign in). */
export function errorReason(result: { errors?: readonly GraphQLFormattedError[] }): unknown {
  return result.errors?.[0]?.extensions?.reason;
}
