package relay

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wisp-project/wisp/internal/ohttp"
)

func TestRelay(t *testing.T) {
	var seen *http.Request
	var seenBody []byte
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		seenBody, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", ohttp.ResponseMediaType)
		w.Header().Set("Set-Cookie", "gateway=1")
		w.Header().Set("X-Gateway-Secret", "s")
		w.Write([]byte("sealed response"))
	}))
	defer gw.Close()
	relay := httptest.NewServer(&Handler{Gateway: gw.URL + "/v1/ohttp", MaxRequestBytes: 1000})
	defer relay.Close()

	req, _ := http.NewRequest(http.MethodPost, relay.URL+"/anything", bytes.NewReader([]byte("sealed request")))
	req.Header.Set("Content-Type", ohttp.RequestMediaType)
	for k, v := range map[string]string{
		"User-Agent": "device/1.0", "Cookie": "id=42", "Authorization": "Bearer x", "X-Forwarded-For": "10.1.2.3",
		"Forwarded": "for=10.1.2.3", "Via": "1.1 x", "X-Device-Id": "abc", "Accept-Language": "fr",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "sealed response" || resp.Header.Get("Content-Type") != ohttp.ResponseMediaType {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Gateway-Secret") != "" {
		t.Fatalf("gateway headers passed back: %v", resp.Header)
	}
	if seen.URL.Path != "/v1/ohttp" || string(seenBody) != "sealed request" {
		t.Fatalf("forwarded %s %q", seen.URL.Path, seenBody)
	}
	// Exactly what the relay sends: the content type and length, nothing else.
	if len(seen.Header) != 2 || seen.Header.Get("Content-Type") != ohttp.RequestMediaType || seen.Header.Get("Content-Length") != "14" {
		t.Fatalf("forwarded header %v", seen.Header)
	}

	for _, c := range []struct {
		method, ctype string
		body          []byte
		want          int
	}{
		{http.MethodGet, ohttp.RequestMediaType, nil, 405},
		{http.MethodPut, ohttp.RequestMediaType, []byte("x"), 405},
		{http.MethodPost, "application/json", []byte("x"), 415},
		{http.MethodPost, ohttp.RequestMediaType, nil, 400},
		{http.MethodPost, ohttp.RequestMediaType, make([]byte, 1001), 413},
	} {
		seen = nil
		req, _ := http.NewRequest(c.method, relay.URL, bytes.NewReader(c.body))
		req.Header.Set("Content-Type", c.ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want || seen != nil {
			t.Errorf("%s %s %d bytes: %d (forwarded: %v), want %d", c.method, c.ctype, len(c.body), resp.StatusCode, seen != nil, c.want)
		}
	}

	// An answer over the limit is a 502.
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 2000)) }))
	defer big.Close()
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte("x")))
	r.Header.Set("Content-Type", ohttp.RequestMediaType)
	(&Handler{Gateway: big.URL, MaxResponseBytes: 1000}).ServeHTTP(rec, r)
	if rec.Code != http.StatusBadGateway {
		t.Errorf("oversized answer: %d, want 502", rec.Code)
	}

	// A gateway that is down is a 502; a redirect is not followed.
	redirect := httptest.NewServer(http.RedirectHandler(gw.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	for url, want := range map[string]int{"http://127.0.0.1:1/": 502, redirect.URL: 307} {
		seen = nil
		h := &Handler{Gateway: url}
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte("x")))
		r.Header.Set("Content-Type", ohttp.RequestMediaType)
		h.ServeHTTP(rec, r)
		if rec.Code != want || seen != nil {
			t.Errorf("%s: %d, want %d (reached gateway: %v)", url, rec.Code, want, seen != nil)
		}
	}
}
