/** The certificate a fresh TLS handshake with the daemon gets (no SNI, as a client dialling an IP), for the soak. */
import { X509Certificate } from "node:crypto";
import tls from "node:tls";

export const fingerprintOf = (pem: Buffer | string) => new X509Certificate(pem).fingerprint256;

export function servedFingerprint(endpoint: string): Promise<string> {
  const [host, port] = endpoint.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port: Number(port), rejectUnauthorized: false, ALPNProtocols: ["h2"] }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on("error", reject);
  });
}
