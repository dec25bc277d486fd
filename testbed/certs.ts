// Certificates for the test control plane, made with openssl: a CA, the apiserver's serving
// certificate for 127.0.0.1, a cluster-admin client certificate, and the service-account
// signing key (needed for the TokenRequest API). EC P-256 keys: they generate in milliseconds.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface TestbedCerts {
  caCert: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

export function makeCerts(dir: string): TestbedCerts {
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = (out: string) => openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', out);
  const signed = (name: string, subj: string, ext: string[]) => {
    ec(f(`${name}.key`));
    openssl('req', '-new', '-x509', '-key', f(`${name}.key`), '-subj', subj, '-days', '30',
      '-CA', f('ca.crt'), '-CAkey', f('ca.key'), ...ext.flatMap((e) => ['-addext', e]), '-out', f(`${name}.crt`));
  };

  ec(f('ca.key'));
  openssl('req', '-new', '-x509', '-key', f('ca.key'), '-subj', '/CN=config-reload-testbed-ca', '-days', '30',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', f('ca.crt'));
  signed('serving', '/CN=kube-apiserver', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc',
    'extendedKeyUsage=serverAuth', 'basicConstraints=CA:FALSE',
  ]);
  signed('admin', '/O=system:masters/CN=testbed-admin', ['extendedKeyUsage=clientAuth', 'basicConstraints=CA:FALSE']);
  ec(f('sa.key'));
  openssl('ec', '-in', f('sa.key'), '-pubout', '-out', f('sa.pub'));
  return {
    caCert: f('ca.crt'), servingCert: f('serving.crt'), servingKey: f('serving.key'),
    adminCert: f('admin.crt'), adminKey: f('admin.key'), saKey: f('sa.key'), saPub: f('sa.pub'),
  };
}
