import { connect } from 'node:net';
import { createServer } from '@mummyx/core';
/** Starts a server on 127.0.0.1:0 and closes it when the test ends. */
export async function start(t, handler, options = {}) {
    const server = createServer(handler, { logLevel: 'error', logHandler: () => { }, ...options });
    const address = await server.listen(0);
    t.after(() => server.close());
    return { server, port: address.port, url: address.url };
}
/**
 * Writes raw bytes to the server and collects everything it answers until it
 * closes the connection or stays silent for `idleMs`.
 */
export function rawRequest(port, bytes, options = {}) {
    const idleMs = options.idleMs ?? 300;
    const timeoutMs = options.timeoutMs ?? 5_000;
    return new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        const chunks = [];
        let idle;
        const finish = (closed) => {
            clearTimeout(idle);
            clearTimeout(overall);
            socket.destroy();
            resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
        };
        const overall = setTimeout(() => finish(false), timeoutMs);
        const arm = () => {
            clearTimeout(idle);
            idle = setTimeout(() => finish(false), idleMs);
        };
        socket.on('data', (chunk) => {
            chunks.push(chunk);
            arm();
        });
        socket.on('close', () => finish(true));
        socket.on('error', (error) => {
            if (error.code === 'ECONNRESET' || error.code === 'EPIPE')
                finish(true);
            else
                reject(error);
        });
        socket.write(bytes);
        arm();
    });
}
/** The status code of the first response in a raw answer. */
export function statusOf(text) {
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    return match === null ? 0 : Number(match[1]);
}
//# sourceMappingURL=helpers.js.map