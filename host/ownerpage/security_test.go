package ownerpage_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// signIn follows the login link and returns the session cookie.
func signIn(t *testing.T, w *world) *http.Cookie {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(w.url + w.page.LoginPath())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "./" {
		t.Fatalf("login: %s to %q, want 303 to ./", resp.Status, resp.Header.Get("Location"))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "wisp_owner" {
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie %+v, want HttpOnly and SameSite=Strict", ck)
			}
			return ck
		}
	}
	t.Fatal("login set no session cookie")
	return nil
}

// do sends one request and returns its status, headers and body.
func do(t *testing.T, method, u string, body url.Values, hdr map[string]string, ck *http.Cookie) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	if ck != nil {
		req.AddCookie(ck)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// csrfToken reads the form token from the signed-in page.
func csrfToken(t *testing.T, w *world, ck *http.Cookie) string {
	t.Helper()
	code, _, body := do(t, "GET", w.url, nil, nil, ck)
	if code != http.StatusOK {
		t.Fatalf("page: %d", code)
	}
	_, rest, ok := strings.Cut(body, `name="csrf" value="`)
	tok, _, _ := strings.Cut(rest, `"`)
	if !ok || tok == "" {
		t.Fatal("the page has no form token")
	}
	return tok
}

func TestRefusesWithoutTheSessionSecret(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		what, path string
		ck         *http.Cookie
		code       int
	}{
		{"no cookie", "", nil, http.StatusUnauthorized},
		{"a made-up cookie", "", &http.Cookie{Name: "wisp_owner", Value: "guess"}, http.StatusUnauthorized},
		{"a wrong login key", "session?key=guess", nil, http.StatusForbidden},
		{"an empty login key", "session", nil, http.StatusForbidden},
	} {
		code, hdr, body := do(t, "GET", w.url+c.path, nil, nil, c.ck)
		if code != c.code || strings.Contains(body, "Running") || hdr.Get("Set-Cookie") != "" {
			t.Errorf("%s: %d, cookie %q, body %q; want %d and nothing about the owner", c.what, code, hdr.Get("Set-Cookie"), body, c.code)
		}
	}
	ck := signIn(t, w)
	if code, _, body := do(t, "GET", w.url, nil, nil, ck); code != http.StatusOK || !strings.Contains(body, "Running and Jogging") {
		t.Errorf("signed in: %d, want the page with the owner's interests", code)
	}
}

// TestRefusesWrongHost: a page on evil.example whose name is made to
// resolve to 127.0.0.1 (DNS rebinding) reaches the port, but its requests
// carry Host: evil.example.
func TestRefusesWrongHost(t *testing.T) {
	w := newWorld(t)
	ck := signIn(t, w)
	port := strings.TrimSuffix(strings.TrimPrefix(w.url, "http://127.0.0.1:"), "/")
	for _, h := range []string{"evil.example:" + port, "evil.example", "127.0.0.1.evil.example:" + port, "localhost.evil.example"} {
		code, _, body := do(t, "GET", w.url, nil, map[string]string{"Host": h}, ck)
		if code != http.StatusMisdirectedRequest || strings.Contains(body, "Running") {
			t.Errorf("Host %s: %d %q, want 421", h, code, body)
		}
	}
	for _, h := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port} {
		if code, _, _ := do(t, "GET", w.url, nil, map[string]string{"Host": h}, ck); code != http.StatusOK {
			t.Errorf("Host %s: %d, want 200", h, code)
		}
	}
}

// TestRefusesCrossOriginPosts: with the owner's cookie (a same-site page
// on another port of 127.0.0.1 gets it sent even with SameSite=Strict), a
// form from another origin, or one without the page's token, changes
// nothing.
func TestRefusesCrossOriginPosts(t *testing.T) {
	w := newWorld(t)
	ck := signIn(t, w)
	tok := csrfToken(t, w, ck)
	pause := url.Values{"sharing": {"pause"}, "csrf": {tok}}
	for _, c := range []struct {
		what string
		form url.Values
		hdr  map[string]string
	}{
		{"Sec-Fetch-Site same-site", pause, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:1"}},
		{"Sec-Fetch-Site cross-site", pause, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"another Origin", pause, map[string]string{"Origin": "http://evil.example"}},
		{"no token", url.Values{"sharing": {"pause"}}, map[string]string{"Sec-Fetch-Site": "same-origin"}},
		{"a wrong token", url.Values{"sharing": {"pause"}, "csrf": {"guess"}}, map[string]string{"Sec-Fetch-Site": "same-origin"}},
	} {
		code, _, _ := do(t, "POST", w.url+"sharing", c.form, c.hdr, ck)
		if code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", c.what, code)
		}
		if paused, _, _ := w.dev.SharingPaused(t.Context()); paused {
			t.Fatalf("%s: the device paused sharing", c.what)
		}
	}
	if code, _, _ := do(t, "POST", w.url+"sharing", pause, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("a POST without the cookie: %d, want 401", code)
	}
	code, hdr, _ := do(t, "POST", w.url+"sharing", pause, map[string]string{"Sec-Fetch-Site": "same-origin"}, ck)
	if paused, _, _ := w.dev.SharingPaused(t.Context()); code != http.StatusSeeOther || hdr.Get("Location") != "./?done=paused" || !paused {
		t.Errorf("the page's own form: %d to %q, paused %v; want 303 to ./?done=paused and paused", code, hdr.Get("Location"), paused)
	}
}

// TestHeaders: no CORS header on any answer (so no other origin can read
// one), a CSP that allows no script, and a page without any.
func TestHeaders(t *testing.T) {
	w := newWorld(t)
	ck := signIn(t, w)
	origin := map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
	for _, m := range []string{"GET", "OPTIONS"} {
		for _, path := range []string{"", "style.css", "sharing"} {
			_, hdr, _ := do(t, m, w.url+path, nil, origin, ck)
			for k := range hdr {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s /%s answers %s: %q", m, path, k, hdr.Get(k))
				}
			}
		}
	}
	_, hdr, body := do(t, "GET", w.url, nil, nil, ck)
	csp := hdr.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q, want default-src 'none', no script source, no framing", csp)
	}
	if strings.Contains(strings.ToLower(body), "<script") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("the page has a script or links elsewhere")
	}
	if hdr.Get("Referrer-Policy") != "no-referrer" || hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("Referrer-Policy %q, Cache-Control %q", hdr.Get("Referrer-Policy"), hdr.Get("Cache-Control"))
	}
}
