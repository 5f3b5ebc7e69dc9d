// Package relay is an Oblivious HTTP relay (RFC 9458 §6.2, "Relay
// Responsibilities") for one gateway: it forwards POSTed message/ohttp-req
// bodies to the gateway and the gateway's answers back, and nothing else.
//
// It learns who sends (the client's address) and when, never what: the
// body is sealed to the gateway's key, and a changed byte makes the
// gateway refuse it. The gateway learns what, never who: the forwarded
// request is built afresh with only Content-Type and Content-Length — no
// client header survives (no User-Agent, Cookie, Authorization, Forwarded,
// X-Forwarded-For, Via) and the relay adds none of its own. Bodies are
// never logged, and neither are client addresses.
package relay

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/wisp-project/wisp/internal/ohttp"
)

// Handler forwards encapsulated requests to Gateway.
type Handler struct {
	// Gateway is the one gateway URL requests go to, e.g.
	// https://aggregator.example/v1/ohttp.
	Gateway string
	// Client sends the forwarded requests; nil means a client with a 30 s
	// timeout that neither follows redirects nor asks for compression.
	Client *http.Client
	// MaxRequestBytes bounds an encapsulated request; 0 means 17 MiB (the
	// aggregator's 16 MiB batch limit plus room for the encapsulation).
	MaxRequestBytes int64
	// MaxResponseBytes bounds the gateway's answer, which is streamed
	// through; a longer one is cut (and then fails to open at the client).
	// 0 means 64 MiB.
	MaxResponseBytes int64
}

// NewClient returns the default client of Handler: 30 s timeout, no
// redirects (a gateway cannot send the relay elsewhere), no cookies, no
// Accept-Encoding added.
func NewClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	tr.Proxy = nil
	return &http.Client{
		Transport: tr,
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// forwardedResponseHeaders are the only gateway response fields passed back.
var forwardedResponseHeaders = []string{"Content-Type", "Cache-Control", "Retry-After"}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a "+ohttp.RequestMediaType, http.StatusMethodNotAllowed)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != ohttp.RequestMediaType {
		http.Error(w, "content type must be "+ohttp.RequestMediaType, http.StatusUnsupportedMediaType)
		return
	}
	limit := h.MaxRequestBytes
	if limit <= 0 {
		limit = 17 << 20
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		http.Error(w, "reading the request failed", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > limit {
		http.Error(w, "encapsulated request too large", http.StatusRequestEntityTooLarge)
		return
	}
	if len(body) == 0 {
		http.Error(w, "empty request", http.StatusBadRequest)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), http.MethodPost, h.Gateway, bytes.NewReader(body))
	if err != nil {
		http.Error(w, "bad gateway URL", http.StatusInternalServerError)
		return
	}
	// A fresh header: nothing of the client's request but the body.
	// User-Agent "" makes net/http send none.
	out.Header = http.Header{"Content-Type": {ohttp.RequestMediaType}, "User-Agent": {""}}
	client := h.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(out)
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, r.Context().Err()) || isTimeout(err) {
			status = http.StatusGatewayTimeout
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	defer resp.Body.Close()
	rlimit := h.MaxResponseBytes
	if rlimit <= 0 {
		rlimit = 64 << 20
	}
	if resp.ContentLength > rlimit {
		http.Error(w, "answer from the gateway too large", http.StatusBadGateway)
		return
	}
	for _, k := range forwardedResponseHeaders {
		if v := resp.Header.Values(k); len(v) > 0 {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, rlimit))
}

var defaultClient = NewClient()

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
