// Package bhttp implements the known-length form of Binary HTTP (RFC 9292
// §3.1): the message/bhttp encoding that Oblivious HTTP (internal/ohttp)
// seals.
//
// What is implemented: known-length requests (framing indicator 0) and
// responses (1), with request control data (method, scheme, authority,
// path), final response control data (status 200–599), header and trailer
// field sections, content, truncation of trailing empty parts (§3.8, only
// at the length prefixes that may be omitted) and zero padding (§3.8).
// Informational (1xx) responses are parsed and discarded. Field names and
// values are checked against the HTTP/2 rules RFC 9292 §3.6 points to
// (lower-case tokens; no NUL, CR or LF, no surrounding whitespace; no
// connection-specific fields).
//
// Not implemented: indeterminate-length messages (framing indicators 2
// and 3) are refused as invalid. Encoders always write the full message
// without padding or truncation.
//
// Decoders work on a byte slice already bounded by the caller (an HPKE
// plaintext); every length is checked against what is left, so no input
// makes them allocate more than its own size.
package bhttp

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// ErrInvalid is wrapped by every decoding and validation error.
var ErrInvalid = errors.New("bhttp: invalid message")

// Framing indicators (RFC 9292 §3.3).
const (
	knownLengthRequest  = 0
	knownLengthResponse = 1
)

// Field is one field line. Name is lower case.
type Field struct {
	Name, Value string
}

// Fields is a field section, in order; names may repeat.
type Fields []Field

// Header returns f as an http.Header (canonical keys, repeats kept in order).
func (f Fields) Header() http.Header {
	h := make(http.Header, len(f))
	for _, x := range f {
		h.Add(x.Name, x.Value)
	}
	return h
}

// FieldsOf returns h's fields with lower-cased names, sorted by name (the
// values of one name in their order), so equal headers encode alike.
func FieldsOf(h http.Header) Fields {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var f Fields
	for _, k := range names {
		for _, v := range h[k] {
			f = append(f, Field{Name: strings.ToLower(k), Value: v})
		}
	}
	return f
}

// Request is a known-length Binary HTTP request.
type Request struct {
	Method    string // e.g. "POST"
	Scheme    string // e.g. "https"
	Authority string // may be empty
	Path      string // e.g. "/v1/reports"
	Header    Fields
	Content   []byte
	Trailer   Fields
}

// Response is a known-length Binary HTTP response.
type Response struct {
	Status  int // 200..599
	Header  Fields
	Content []byte
	Trailer Fields
}

// MarshalBinary encodes r in the known-length form.
func (r *Request) MarshalBinary() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	b := appendVarint(nil, knownLengthRequest)
	for _, s := range []string{r.Method, r.Scheme, r.Authority, r.Path} {
		b = appendBytes(b, []byte(s))
	}
	b = appendFields(b, r.Header)
	b = appendBytes(b, r.Content)
	return appendFields(b, r.Trailer), nil
}

// MarshalBinary encodes r in the known-length form.
func (r *Response) MarshalBinary() ([]byte, error) {
	if r.Status < 200 || r.Status > 599 {
		return nil, fmt.Errorf("%w: final status %d", ErrInvalid, r.Status)
	}
	if err := validateFields(r.Header); err != nil {
		return nil, err
	}
	if err := validateFields(r.Trailer); err != nil {
		return nil, err
	}
	b := appendVarint(nil, knownLengthResponse)
	b = appendVarint(b, uint64(r.Status))
	b = appendFields(b, r.Header)
	b = appendBytes(b, r.Content)
	return appendFields(b, r.Trailer), nil
}

// UnmarshalRequest decodes a known-length request.
func UnmarshalRequest(b []byte) (*Request, error) {
	d := decoder{b: b}
	if fi, err := d.varint(); err != nil {
		return nil, err
	} else if fi != knownLengthRequest {
		return nil, fmt.Errorf("%w: framing indicator %d, want a known-length request", ErrInvalid, fi)
	}
	var r Request
	for _, s := range []*string{&r.Method, &r.Scheme, &r.Authority, &r.Path} {
		v, err := d.bytes()
		if err != nil {
			return nil, err
		}
		*s = string(v)
	}
	var err error
	if r.Header, r.Content, r.Trailer, err = d.rest(); err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// UnmarshalResponse decodes a known-length response, skipping any
// informational (1xx) responses before the final one.
func UnmarshalResponse(b []byte) (*Response, error) {
	d := decoder{b: b}
	if fi, err := d.varint(); err != nil {
		return nil, err
	} else if fi != knownLengthResponse {
		return nil, fmt.Errorf("%w: framing indicator %d, want a known-length response", ErrInvalid, fi)
	}
	var r Response
	for {
		status, err := d.varint()
		if err != nil {
			return nil, err
		}
		if status < 100 || status > 599 {
			return nil, fmt.Errorf("%w: status %d", ErrInvalid, status)
		}
		if status >= 200 {
			r.Status = int(status)
			break
		}
		// An informational response has a header section, never truncated.
		if _, err := d.fields(false); err != nil {
			return nil, err
		}
	}
	var err error
	if r.Header, r.Content, r.Trailer, err = d.rest(); err != nil {
		return nil, err
	}
	if err := validateFields(r.Header); err != nil {
		return nil, err
	}
	if err := validateFields(r.Trailer); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Request) validate() error {
	if r.Method == "" || !isToken(r.Method) {
		return fmt.Errorf("%w: method %q", ErrInvalid, r.Method)
	}
	if !isScheme(r.Scheme) {
		return fmt.Errorf("%w: scheme %q", ErrInvalid, r.Scheme)
	}
	if !isVisible(r.Authority) {
		return fmt.Errorf("%w: authority %q", ErrInvalid, r.Authority)
	}
	if !isVisible(r.Path) || r.Path == "" && r.Method != http.MethodConnect {
		return fmt.Errorf("%w: path %q", ErrInvalid, r.Path)
	}
	if err := validateFields(r.Header); err != nil {
		return err
	}
	return validateFields(r.Trailer)
}

// validateFields applies RFC 9113 §8.2.1 and §8.2.2.
func validateFields(f Fields) error {
	for _, x := range f {
		if x.Name == "" || !isToken(x.Name) || strings.ToLower(x.Name) != x.Name {
			return fmt.Errorf("%w: field name %q", ErrInvalid, x.Name)
		}
		if !validValue(x.Value) {
			return fmt.Errorf("%w: value of field %q", ErrInvalid, x.Name)
		}
		switch x.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return fmt.Errorf("%w: connection-specific field %q", ErrInvalid, x.Name)
		case "te":
			if x.Value != "trailers" {
				return fmt.Errorf("%w: te: %q", ErrInvalid, x.Value)
			}
		}
	}
	return nil
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// isScheme is RFC 3986's scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// isVisible reports whether s has only visible ASCII (no space, no control).
func isVisible(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func validValue(v string) bool {
	if v != "" && (v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		return false
	}
	return !strings.ContainsAny(v, "\x00\r\n")
}

// decoder reads from b; every read checks the bytes left.
type decoder struct{ b []byte }

func (d *decoder) varint() (uint64, error) {
	v, n, err := readVarint(d.b)
	if err != nil {
		return 0, err
	}
	d.b = d.b[n:]
	return v, nil
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: length %d with %d bytes left", ErrInvalid, n, len(d.b))
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v, nil
}

// fields reads a known-length field section. With truncatable, the end of
// the message in place of its length is an empty section.
func (d *decoder) fields(truncatable bool) (Fields, error) {
	if len(d.b) == 0 && truncatable {
		return nil, nil
	}
	sec, err := d.bytes()
	if err != nil {
		return nil, err
	}
	s := decoder{b: sec}
	var f Fields
	for len(s.b) > 0 {
		name, err := s.bytes()
		if err != nil {
			return nil, err
		}
		if len(name) == 0 {
			return nil, fmt.Errorf("%w: empty field name", ErrInvalid)
		}
		value, err := s.bytes()
		if err != nil {
			return nil, err
		}
		f = append(f, Field{Name: string(name), Value: string(value)})
	}
	return f, nil
}

// rest reads header section, content and trailer section, each of which
// the message may end before, then the padding, which must be zeros.
func (d *decoder) rest() (header Fields, content []byte, trailer Fields, err error) {
	if header, err = d.fields(true); err != nil {
		return nil, nil, nil, err
	}
	if len(d.b) > 0 {
		if content, err = d.bytes(); err != nil {
			return nil, nil, nil, err
		}
		if len(content) == 0 {
			content = nil
		}
	}
	if trailer, err = d.fields(true); err != nil {
		return nil, nil, nil, err
	}
	for _, c := range d.b {
		if c != 0 {
			return nil, nil, nil, fmt.Errorf("%w: non-zero padding", ErrInvalid)
		}
	}
	return header, content, trailer, nil
}

func appendBytes(b, v []byte) []byte { return append(appendVarint(b, uint64(len(v))), v...) }

func appendFields(b []byte, f Fields) []byte {
	var sec []byte
	for _, x := range f {
		sec = appendBytes(sec, []byte(x.Name))
		sec = appendBytes(sec, []byte(x.Value))
	}
	return appendBytes(b, sec)
}

// ValidField reports whether f may appear in a message (RFC 9113 §8.2.1,
// §8.2.2); encoders refuse messages with an invalid field.
func ValidField(f Field) bool { return validateFields(Fields{f}) == nil }
