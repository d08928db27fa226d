// B-apollo: a stock Apollo Server 5 (standalone) answering `{ hello }`.
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');

const server = new ApolloServer({
  typeDefs: 'type Query { hello: String }',
  resolvers: { Query: { hello: () => 'world' } },
});
startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT), host: process.env.HOST },
});
