package ohttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wisp-project/wisp/internal/bhttp"
)

// This file carries HTTP over the encapsulation: a gateway handler that
// opens message/ohttp-req bodies and serves the inner request with another
// handler (RFC 9458 §5, the gateway and target on one server), and a
// client RoundTripper that sends every request through a relay.

type viaGatewayKey struct{}

// ViaGateway reports whether ctx is an inner request's context: the
// request arrived encapsulated, through GatewayHandler. A direct request
// cannot set it.
func ViaGateway(ctx context.Context) bool {
	v, _ := ctx.Value(viaGatewayKey{}).(bool)
	return v
}

// GatewayHandler serves POSTed message/ohttp-req bodies: it opens each
// with Gateway, serves the inner request with Target and seals Target's
// response. Errors before the request is open are answered in the clear
// (400, with the "ohttp-key" problem type when the key configuration is
// the cause, RFC 9458 §5.3); errors after it are sealed (§5.2).
type GatewayHandler struct {
	Gateway *Gateway
	Target  http.Handler
	// MaxRequestBytes bounds the encapsulated request; 0 means 1 MiB.
	MaxRequestBytes int64
	// MaxResponseBytes bounds Target's response body; beyond it the client
	// gets a sealed 502. 0 means 1 MiB.
	MaxResponseBytes int
}

func (h *GatewayHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		clearProblem(w, http.StatusMethodNotAllowed, "", "POST a message/ohttp-req")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != RequestMediaType {
		clearProblem(w, http.StatusUnsupportedMediaType, "", "content type must be "+RequestMediaType)
		return
	}
	limit := h.MaxRequestBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		clearProblem(w, http.StatusBadRequest, "", "reading the request failed")
		return
	}
	if int64(len(body)) > limit {
		clearProblem(w, http.StatusRequestEntityTooLarge, "", "encapsulated request too large")
		return
	}
	plain, sctx, err := h.Gateway.DecapsulateRequest(body)
	switch {
	case errors.Is(err, ErrKey):
		clearProblem(w, http.StatusBadRequest, KeyProblemType, "key identifier unknown")
		return
	case err != nil:
		clearProblem(w, http.StatusBadRequest, "", "cannot decapsulate the request")
		return
	}
	resp := h.serveInner(r.Context(), plain)
	out, err := resp.MarshalBinary()
	if err != nil {
		out, _ = (&bhttp.Response{Status: http.StatusInternalServerError}).MarshalBinary()
	}
	sealed, err := sctx.EncapsulateResponse(out, nil)
	if err != nil {
		clearProblem(w, http.StatusInternalServerError, "", "cannot encapsulate the response")
		return
	}
	w.Header().Set("Content-Type", ResponseMediaType)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(sealed)
}

// serveInner decodes the Binary HTTP request and runs Target on it.
func (h *GatewayHandler) serveInner(ctx context.Context, plain []byte) *bhttp.Response {
	breq, err := bhttp.UnmarshalRequest(plain)
	if err != nil {
		return sealedError(http.StatusBadRequest, "malformed binary HTTP request")
	}
	u, err := url.ParseRequestURI(breq.Path)
	if err != nil || breq.Method == http.MethodConnect {
		return sealedError(http.StatusBadRequest, "bad request target")
	}
	header := breq.Header.Header()
	if strings.EqualFold(header.Get("Expect"), "100-continue") {
		return sealedError(http.StatusExpectationFailed, "100-continue cannot be encapsulated") // RFC 9458 §5.1
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, viaGatewayKey{}, true), breq.Method, u.String(), bytes.NewReader(breq.Content))
	if err != nil {
		return sealedError(http.StatusBadRequest, "bad request")
	}
	req.Header = header
	req.Host = breq.Authority
	req.RequestURI = u.RequestURI()
	req.ContentLength = int64(len(breq.Content))
	req.RemoteAddr = "" // the target never learns who sent it: only the relay does
	limit := h.MaxResponseBytes
	if limit <= 0 {
		limit = 1 << 20
	}
	rec := &recorder{header: http.Header{}, limit: limit}
	h.Target.ServeHTTP(rec, req)
	if rec.overflow {
		return sealedError(http.StatusBadGateway, "response too large")
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status < 200 || rec.status > 599 {
		return sealedError(http.StatusBadGateway, "bad status from target")
	}
	resp := &bhttp.Response{Status: rec.status, Content: rec.body.Bytes()}
	for _, f := range bhttp.FieldsOf(rec.header) {
		if bhttp.ValidField(f) {
			resp.Header = append(resp.Header, f)
		}
	}
	return resp
}

func sealedError(status int, detail string) *bhttp.Response {
	b, _ := json.Marshal(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail})
	return &bhttp.Response{Status: status, Header: bhttp.Fields{{Name: "content-type", Value: "application/problem+json"}}, Content: b}
}

// clearProblem answers an error that cannot be sealed (RFC 9457 body).
func clearProblem(w http.ResponseWriter, status int, typ, title string) {
	p := map[string]any{"title": title, "status": status}
	if typ != "" {
		p["type"] = typ
	}
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// recorder is the inner request's ResponseWriter: it keeps the response
// in memory, at most limit bytes of body.
type recorder struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	limit    int
	overflow bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 && status >= 200 { // informational responses are dropped
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len()+len(p) > r.limit {
		r.overflow = true
		return 0, errors.New("ohttp: response too large")
	}
	return r.body.Write(p)
}

// KeySource gives a client the gateway's key configuration; refresh asks
// for a fresh one (the gateway refused the cached one).
type KeySource func(ctx context.Context, refresh bool) (KeyConfig, error)

// Transport is an http.RoundTripper that encapsulates every request and
// POSTs it to Relay, which forwards it to the gateway; the response it
// returns is the decapsulated inner response. The inner request carries
// only the request's method, scheme, host, path, header and body: the
// caller decides every field (net/http adds no User-Agent at this layer).
// The outer request carries only Content-Type and Content-Length.
type Transport struct {
	// Relay is the relay's URL, e.g. https://relay.example/ohttp.
	Relay string
	// Keys supplies the gateway's key configuration.
	Keys KeySource
	// Base sends the outer request; nil means http.DefaultTransport.
	Base http.RoundTripper
	// MaxResponseBytes bounds the encapsulated response; 0 means 64 MiB.
	MaxResponseBytes int64
}

// ErrRefused wraps the error of an outer request the relay or gateway
// answered in the clear (not with an encapsulated response).
var ErrRefused = errors.New("ohttp: request refused")

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var content []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		content = b
	}
	breq := &bhttp.Request{Method: req.Method, Scheme: req.URL.Scheme, Authority: req.URL.Host, Path: req.URL.RequestURI(),
		Header: bhttp.FieldsOf(req.Header), Content: content}
	plain, err := breq.MarshalBinary()
	if err != nil {
		return nil, err
	}
	resp, err := t.roundTrip(req.Context(), plain, false)
	if errors.Is(err, ErrKey) {
		resp, err = t.roundTrip(req.Context(), plain, true) // the gateway rotated its key: fetch it once more
	}
	if err != nil {
		return nil, err
	}
	h := resp.Header.Header()
	h.Set("Content-Length", strconv.Itoa(len(resp.Content)))
	return &http.Response{
		Status: fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)), StatusCode: resp.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(resp.Content)), ContentLength: int64(len(resp.Content)),
		Request: req,
	}, nil
}

func (t *Transport) roundTrip(ctx context.Context, plain []byte, refresh bool) (*bhttp.Response, error) {
	cfg, err := t.Keys(ctx, refresh)
	if err != nil {
		return nil, err
	}
	enc, cctx, err := EncapsulateRequest(cfg, plain, nil)
	if err != nil {
		return nil, err
	}
	outer, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Relay, bytes.NewReader(enc))
	if err != nil {
		return nil, err
	}
	outer.Header = http.Header{"Content-Type": {RequestMediaType}, "User-Agent": {""}} // "" sends none
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(outer)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := t.MaxResponseBytes
	if limit <= 0 {
		limit = 64 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: encapsulated response over %d bytes", ErrMalformed, limit)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || mt != ResponseMediaType {
		if resp.StatusCode == http.StatusBadRequest && bytes.Contains(body, []byte(KeyProblemType)) {
			// Unauthenticated: a relay could fake it, and all it gains is
			// that we fetch the key configuration again.
			return nil, fmt.Errorf("%w: %w: %s", ErrRefused, ErrKey, resp.Status)
		}
		return nil, fmt.Errorf("%w: %s", ErrRefused, resp.Status)
	}
	plainResp, err := cctx.DecapsulateResponse(body)
	if err != nil {
		return nil, err
	}
	return bhttp.UnmarshalResponse(plainResp)
}
