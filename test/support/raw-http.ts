import net from 'node:net';

/** All that came back on a plain socket, as text, and the socket's error if it had one. */
export interface RawAnswer {
  answer: string;
  error?: string;
}

/**
 * Sends `head` and `body` over a plain socket as a simple uploader does: everything written, its sending side closed
 * (a half-close), then the answer read until the server closes the connection.
 */
export function sendHalfClosed(port: number, head: string, body: Buffer): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (c: Buffer) => parts.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ error, answer: Buffer.concat(parts).toString() }));
    socket.write(head);
    socket.end(body);
  });
}
