// A Nostr relay on 127.0.0.1 (a free port) for the Nostr adapter's tests: @nostr-relay/core
// with events in SQLite (a file in the folder given) and the validator, which checks every
// event's id and signature. Prints one JSON line with its URL; stops on SIGTERM.
import { WebSocketServer } from 'ws';
import { NostrRelay } from '@nostr-relay/core';
import { EventRepositorySqlite } from '@nostr-relay/event-repository-sqlite';
import { Validator } from '@nostr-relay/validator';

const dir = process.argv[2] ?? '.';
const repository = new EventRepositorySqlite(`${dir}/relay.db`);
await repository.init();
// No caching of query results: the tests ask right after publishing.
const relay = new NostrRelay(repository, { filterResultCacheTtl: 0 });
const validator = new Validator();
const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
server.on('connection', (ws) => {
  relay.handleConnection(ws);
  ws.on('message', async (data) => {
    try {
      const message = await validator.validateIncomingMessage(data);
      await relay.handleMessage(ws, message);
    } catch (error) {
      ws.send(JSON.stringify(['NOTICE', error.message]));
    }
  });
  ws.on('close', () => relay.handleDisconnect(ws));
  ws.on('error', () => relay.handleDisconnect(ws));
});
server.on('listening', () => {
  console.log(JSON.stringify({ relay: `ws://127.0.0.1:${server.address().port}` }));
});
const stop = async () => {
  server.close();
  await relay.destroy();
  await repository.destroy?.();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
