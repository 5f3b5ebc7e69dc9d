// Package ownerpage is the device owner's privacy page: an http.Handler a
// device maker mounts on its companion app or local web UI (and `wisp
// device serve` runs on 127.0.0.1). It shows, in plain words, what the
// plugins inferred, what left the device and to whom, how much of the
// privacy budget is used, which campaigns asked; and it gives the owner
// switches per plugin and per campaign, "delete this interest", one
// "pause all sharing" and "forget everything".
//
// The page is server-rendered HTML with one embedded stylesheet: no
// script, no CDN, nothing fetched from elsewhere, so it works offline and
// its Content-Security-Policy allows no script at all. It is protected
// against the two neighbours a local page has, another user of the
// machine and a web page in the owner's own browser:
//
//   - a per-session secret: New draws a random key; only a request that
//     presents it (the link LoginPath returns, printed to the owner) gets
//     the session cookie (HttpOnly, SameSite=Strict), and every other
//     request without that cookie sees nothing;
//   - no CORS headers, ever, so no other origin can read a response;
//   - CSRF-safe forms: every POST carries a per-session token and must
//     come from the page's own origin (Sec-Fetch-Site or Origin,
//     net/http.CrossOriginProtection);
//   - a Host check against DNS rebinding: only loopback names (or the
//     hosts the device maker lists) are served.
package ownerpage
