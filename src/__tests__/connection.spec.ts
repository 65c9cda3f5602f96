// Tests of the runs sidebar's connection state (models/connection.ts), told from real client errors.
import { Connection } from '../models/connection';
import { row } from './rows';
import { FakeServer } from './server';

describe('Connection', () => {
  it('reads the status counts once to connect, then again only when asked', async () => {
    const server = new FakeServer([row('a', { status: 'running' })]);
    let changes = 0;
    const connection = new Connection(server.client(), () => changes++);
    expect(connection.state.kind).toBe('connecting');
    await connection.check();
    expect(connection.state.kind).toBe('ok');
    expect(connection.status?.running).toBe(1);
    await connection.check();
    expect(server.requests('status')).toHaveLength(1);
    expect(changes).toBe(1);

    server.update(row('b', { status: 'running' }));
    await connection.readStatus();
    expect(connection.status?.running).toBe(2);
    expect(changes).toBe(2);
  });

  it('says the extension is missing when the status route is not found', async () => {
    const server = new FakeServer([]);
    server.statusCode = 404;
    let changes = 0;
    const connection = new Connection(server.client(), () => changes++);
    for (let i = 0; i < 2; i++) {
      await connection.check().catch(error => connection.fail(error));
    }
    expect(connection.state.kind).toBe('missing');
    expect(connection.status).toBeNull();
    expect(changes).toBe(1); // the same state twice is one change

    server.statusCode = 200;
    await connection.check(); // reconnects: the counts were forgotten
    expect(connection.state.kind).toBe('ok');
    expect(server.requests('status')).toHaveLength(3);
  });

  it('tells an unreachable server from other errors', async () => {
    const server = new FakeServer([]);
    const connection = new Connection(server.client(), () => {});
    server.down = true;
    await connection.check().catch(error => connection.fail(error));
    expect(connection.state.kind).toBe('unreachable');
    expect('message' in connection.state && connection.state.message).toMatch(
      /could not be reached/
    );
    connection.fail(new Error('boom'));
    expect(connection.state).toEqual({ kind: 'error', message: 'Error: boom' });
  });
});
