package bhttp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The known-length examples of RFC 9292 §5.1 and §5.2.
const (
	rfc9292Request = `00034745 54056874 74707300 0a2f6865 6c6c6f2e 74787440 6c0a7573 65722d61
		67656e74 34637572 6c2f372e 31362e33 206c6962 6375726c 2f372e31 362e3320
		4f70656e 53534c2f 302e392e 376c207a 6c69622f 312e322e 3304686f 73740f77
		77772e65 78616d70 6c652e63 6f6d0f61 63636570 742d6c61 6e677561 67650665
		6e2c206d 690000`
	rfc9292Response = `0140c800 1d546869 7320636f 6e74656e 7420636f 6e746169 6e732043 524c462e
		0d0a0d07 74726169 6c657204 74657874`
)

func TestRFC9292Request(t *testing.T) {
	raw := unhex(t, rfc9292Request)
	r, err := UnmarshalRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{Method: "GET", Scheme: "https", Path: "/hello.txt", Header: Fields{
		{"user-agent", "curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"},
		{"host", "www.example.com"},
		{"accept-language", "en, mi"},
	}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	if got, _ := r.MarshalBinary(); !bytes.Equal(got, raw) {
		t.Fatalf("re-encoded\n%x\nwant\n%x", got, raw)
	}
	// "the last two bytes ... can each be removed without altering the
	// semantics of the message"
	for cut := 1; cut <= 2; cut++ {
		if r2, err := UnmarshalRequest(raw[:len(raw)-cut]); err != nil || !reflect.DeepEqual(r2, want) {
			t.Fatalf("truncated by %d: %+v, %v", cut, r2, err)
		}
	}
	// Padding is zeros; anything else is invalid.
	if _, err := UnmarshalRequest(append(append([]byte{}, raw...), 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalRequest(append(append([]byte{}, raw...), 0, 1)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("non-zero padding: %v", err)
	}
	// Truncated anywhere else: invalid.
	for _, n := range []int{1, 3, 10, 20, len(raw) - 3} {
		if _, err := UnmarshalRequest(raw[:n]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
}

func TestRFC9292Response(t *testing.T) {
	raw := unhex(t, rfc9292Response)
	r, err := UnmarshalResponse(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := &Response{Status: 200, Content: []byte("This content contains CRLF.\r\n"), Trailer: Fields{{"trailer", "text"}}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
	// Our encoder writes an empty header section as one zero byte, as the
	// example does.
	if got, _ := r.MarshalBinary(); !bytes.Equal(got, raw) {
		t.Fatalf("re-encoded\n%x\nwant\n%x", got, raw)
	}
	// Informational responses are skipped: 102 with one field, then 200.
	info := append([]byte{0x01, 0x40, 0x66, 0x03, 0x01, 'a', 0x00}, raw[1:]...)
	if r2, err := UnmarshalResponse(info); err != nil || !reflect.DeepEqual(r2, want) {
		t.Fatalf("with 102: %+v, %v", r2, err)
	}
}

// The inner messages of RFC 9458 Appendix A: a truncated GET and a bare 200.
func TestRFC9458Messages(t *testing.T) {
	req := unhex(t, "00034745540568747470730b6578616d706c652e636f6d012f")
	r, err := UnmarshalRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&Request{Method: "GET", Scheme: "https", Authority: "example.com", Path: "/"}); !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v", r)
	}
	resp, err := UnmarshalResponse(unhex(t, "0140c8"))
	if err != nil || resp.Status != 200 || resp.Header != nil || resp.Content != nil {
		t.Fatalf("got %+v, %v", resp, err)
	}
}

func TestRoundTrip(t *testing.T) {
	r := &Request{Method: "POST", Scheme: "https", Authority: "agg.example", Path: "/v1/reports",
		Header: Fields{{"content-type", "application/cbor"}, {"x", ""}}, Content: bytes.Repeat([]byte{7}, 20000)}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalRequest(b)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("%+v, %v", got, err)
	}
	resp := &Response{Status: 429, Header: Fields{{"retry-after", "1"}}, Content: []byte("{}")}
	b, err = resp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := UnmarshalResponse(b); err != nil || !reflect.DeepEqual(got, resp) {
		t.Fatalf("%+v, %v", got, err)
	}
}

func TestInvalid(t *testing.T) {
	bad := []*Request{
		{Method: "", Scheme: "https", Path: "/"},
		{Method: "G T", Scheme: "https", Path: "/"},
		{Method: "GET", Scheme: "1http", Path: "/"},
		{Method: "GET", Scheme: "https", Path: ""},
		{Method: "GET", Scheme: "https", Path: "/a b"},
		{Method: "GET", Scheme: "https", Path: "/", Header: Fields{{"Content-Type", "x"}}},
		{Method: "GET", Scheme: "https", Path: "/", Header: Fields{{"x", "a\r\nb"}}},
		{Method: "GET", Scheme: "https", Path: "/", Header: Fields{{"x", " padded"}}},
		{Method: "GET", Scheme: "https", Path: "/", Header: Fields{{"connection", "close"}}},
		{Method: "GET", Scheme: "https", Path: "/", Header: Fields{{":path", "/"}}},
	}
	for _, r := range bad {
		if _, err := r.MarshalBinary(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	for _, b := range [][]byte{{}, {2}, {3}, {1}, {0x40}, {1, 0x40, 0x63}, {1, 0x42, 0x58}} {
		if _, err := UnmarshalRequest(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("request %x: %v", b, err)
		}
		if _, err := UnmarshalResponse(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("response %x: %v", b, err)
		}
	}
}

func TestVarint(t *testing.T) {
	for _, v := range []uint64{0, 63, 64, 16383, 16384, 1<<30 - 1, 1 << 30, maxVarint} {
		b := appendVarint(nil, v)
		got, n, err := readVarint(b)
		if err != nil || got != v || n != len(b) {
			t.Fatalf("%d: %d %d %v", v, got, n, err)
		}
	}
	// RFC 9000 §A.1 examples.
	for s, v := range map[string]uint64{"c2197c5eff14e88c": 151288809941952652, "9d7f3e7d": 494878333, "7bbd": 15293, "25": 37, "4025": 37} {
		got, _, err := readVarint(unhex(t, s))
		if err != nil || got != v {
			t.Fatalf("%s: %d %v", s, got, err)
		}
	}
}

// FuzzUnmarshal: neither decoder panics, and what decodes re-encodes to
// something that decodes to the same message.
func FuzzUnmarshal(f *testing.F) {
	f.Add(unhex(f, rfc9292Request))
	f.Add(unhex(f, rfc9292Response))
	f.Add(unhex(f, "00034745540568747470730b6578616d706c652e636f6d012f"))
	f.Add([]byte{1, 0x40, 0xc8})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := UnmarshalRequest(b); err == nil {
			enc, err := r.MarshalBinary()
			if err != nil {
				t.Fatalf("decoded request does not encode: %v", err)
			}
			r2, err := UnmarshalRequest(enc)
			if err != nil || !reflect.DeepEqual(norm(r2), norm(r)) {
				t.Fatalf("request round trip: %+v vs %+v (%v)", r2, r, err)
			}
		}
		if r, err := UnmarshalResponse(b); err == nil {
			enc, err := r.MarshalBinary()
			if err != nil {
				t.Fatalf("decoded response does not encode: %v", err)
			}
			r2, err := UnmarshalResponse(enc)
			if err != nil || !reflect.DeepEqual(normResp(r2), normResp(r)) {
				t.Fatalf("response round trip: %+v vs %+v (%v)", r2, r, err)
			}
		}
	})
}

// norm maps empty and absent parts to one value: truncation makes them equal.
func norm(r *Request) Request {
	c := *r
	if len(c.Header) == 0 {
		c.Header = nil
	}
	if len(c.Content) == 0 {
		c.Content = nil
	}
	if len(c.Trailer) == 0 {
		c.Trailer = nil
	}
	return c
}

func normResp(r *Response) Response {
	c := *r
	if len(c.Header) == 0 {
		c.Header = nil
	}
	if len(c.Content) == 0 {
		c.Content = nil
	}
	if len(c.Trailer) == 0 {
		c.Trailer = nil
	}
	return c
}
