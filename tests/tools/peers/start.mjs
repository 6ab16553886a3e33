// Starts a PLC directory and a PDS on 127.0.0.1 (ports chosen by the system) and prints one
// JSON line with their URLs; stops them on SIGTERM. Used by scripts/test-server.sh.
import net from 'node:net';

// dev-env listens on every interface: keep it on loopback.
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || args[0] === undefined) {
    const callback = args.find((a) => typeof a === 'function');
    return listen.call(this, args[0] ?? 0, '127.0.0.1', callback);
  }
  if (typeof args[0] === 'object' && args[0] !== null) args[0] = { ...args[0], host: '127.0.0.1' };
  return listen.apply(this, args);
};

const { TestNetworkNoAppView } = await import('@atproto/dev-env');
const network = await TestNetworkNoAppView.create({});
const loopback = (url) => url.replace('//localhost:', '//127.0.0.1:');
console.log(JSON.stringify({ pds: loopback(network.pds.url), plc: loopback(network.plc.url) }));
const stop = async () => {
  await network.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
