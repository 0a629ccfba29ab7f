// The Hono hello app of bench/fetch.mjs: GET / → "Hello, World!" (c.text: text/plain; charset=UTF-8).
// The same app object is served by every configuration: @hono/node-server on node:http
// (hono-node-server.mjs) and MummyX through fetchHandler (mummyx-hono.mjs, which also names this
// module as its app module, so each worker thread imports it).
import { fetchHandler } from '@mummyx/core';
import { Hono } from 'hono';

export const app = new Hono();

app.get('/', (c) => c.text('Hello, World!'));

/** MummyX's route handler for the app (the app-module export the worker threads load). */
export const handler = fetchHandler(app.fetch);
