// URLs as messages may show them: origin and path. A query may hold a signed CDN link or an
// upload session token, user info a password; neither is useful to a person, both are secrets.

export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return String(url)
      .replace(/[?#].*$/, '')
      .replace(/\/\/[^/@]*@/, '//')
  }
}
