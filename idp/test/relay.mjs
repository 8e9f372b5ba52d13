// A phishing relay, as real-time phishing kits (evilginx and the like) are:
// a look-alike site at another origin that passes every request to the real
// provider and every answer back, with the provider's address in headers
// and pages rewritten to its own. A password or an app code typed at it
// reaches the provider; a passkey cannot be made to sign for it, because the
// browser binds each passkey to the site it was made at.
import http from 'node:http';

/** Starts a relay on 127.0.0.1 in front of `target` (like http://localhost:PORT). */
export async function startRelay(target) {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers, host: upstream.host };
    delete headers['accept-encoding'];
    for (const name of ['origin', 'referer']) {
      if (headers[name]) headers[name] = headers[name].split(relay.url).join(upstream.origin);
    }
    const out = http.request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (answer) => {
      const rewritten = { ...answer.headers };
      if (rewritten.location) rewritten.location = rewritten.location.split(upstream.origin).join(relay.url);
      const chunks = [];
      answer.on('data', (c) => chunks.push(c));
      answer.on('end', () => {
        let body = Buffer.concat(chunks);
        if (/text\/html/.test(answer.headers['content-type'] ?? '')) {
          body = Buffer.from(body.toString('utf8').split(upstream.origin).join(relay.url));
        }
        rewritten['content-length'] = String(body.length);
        res.writeHead(answer.statusCode, rewritten);
        res.end(body);
      });
    });
    out.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(out);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relay = {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
  return relay;
}
