// Docker's rule, which modelcar follows: a registry on the loopback interface may speak plain
// HTTP; any other host needs TLS unless the recipe says otherwise.

/** `localhost`, `127.0.0.0/8` or `[::1]`, with or without a port. */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[') ? hostPort.slice(0, hostPort.indexOf(']') + 1) : hostPort.replace(/:\d+$/, '')
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host)
}
