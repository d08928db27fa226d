// B-db: plain node:http with the raw mongodb driver, issuing exactly the commands a minimal
// implementation needs: for `me`, the session check and the user; for a chats page, the
// session check, the page, its count, and the last message of each chat (one $or query).
// Same server, same pool setting as the subject (one connection on FerretDB).
const http = require('node:http');
const { createSecretKey } = require('node:crypto');
const { MongoClient, ObjectId } = require('mongodb');
const jwt = require('jsonwebtoken');

const key = createSecretKey(Buffer.from(process.env.SECRET_KEY, 'utf8'));
const client = new MongoClient(process.env.MONGODB_URL, {
  maxPoolSize: Number(process.env.POOL_SIZE ?? 1),
});
const db = client.db(process.env.DATABASE_NAME);

async function session(req) {
  const claims = jwt.verify(req.headers.authorization.slice(7), key, { algorithms: ['HS256'] });
  const found = await db.collection('sessions').findOne(
    {
      _id: new ObjectId(claims.sid),
      userId: new ObjectId(claims.sub),
      expiresAt: { $gt: new Date() },
    },
    { projection: { lastUsedAt: 1 } },
  );
  if (!found) throw new Error('no session');
  return claims.sub;
}

async function me(req) {
  const userId = await session(req);
  const user = await db
    .collection('users')
    .findOne({ _id: new ObjectId(userId) }, { projection: { passwordHash: 0 } });
  return {
    data: {
      me: {
        id: String(user._id),
        email: user.email,
        firstName: user.firstName,
        lastName: user.lastName,
        emailVerified: user.emailVerified,
        metadata: user.metadata,
        createdAt: user.createdAt,
        updatedAt: user.updatedAt,
      },
    },
  };
}

async function chats(req) {
  const userId = new ObjectId(await session(req));
  const [page, totalCount] = await Promise.all([
    db.collection('chats').find({ userId }).sort({ updatedAt: -1, _id: -1 }).limit(21).toArray(),
    db.collection('chats').countDocuments({ userId }),
  ]);
  const nodes = page.slice(0, 20);
  const ranges = nodes
    .filter((c) => c.messageCount > 0)
    .map((c) => ({ chatId: c._id, position: { $gte: c.messageCount, $lt: c.messageCount + 1 } }));
  const last = ranges.length ? await db.collection('messages').find({ $or: ranges }).toArray() : [];
  return {
    data: {
      chats: {
        totalCount,
        nodes: nodes.map((c) => ({
          id: String(c._id),
          title: c.title,
          messageCount: c.messageCount,
          updatedAt: c.updatedAt,
          messages: last
            .filter((m) => String(m.chatId) === String(c._id))
            .map((m) => ({ id: String(m._id), role: m.role, content: m.content })),
        })),
      },
    },
  };
}

const routes = { '/me': me, '/chats': chats };
client.connect().then(() => {
  http
    .createServer((req, res) => {
      req.resume();
      const route = routes[req.url];
      if (!route) return res.end('ok');
      route(req).then(
        (body) => {
          const json = JSON.stringify(body);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(json);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    })
    .listen(Number(process.env.PORT), process.env.HOST);
});
