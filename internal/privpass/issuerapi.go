package privpass

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The issuer's HTTP API, as both its clients use it — a device asking for
// a token, an aggregator fetching the key to verify one — and the issuer
// serves it (aggregator/issuer.go):
//
//	GET  /v1/report-token-keys?campaign=C&epoch=E  KeyInfo (JSON), the same for every asker; 404 until made
//	POST /v1/report-token-keys                      a signed key request (CBOR) → KeyInfo, made if it was not
//	POST /v1/report-tokens                          a signed IssuanceRequest (CBOR) → TokenResponse
//
// Only a device with a credential can make a key: were a GET enough, anyone
// could make the issuer generate RSA keys for made-up campaign epochs
// without end.
const (
	KeysPath   = "/v1/report-token-keys"
	TokensPath = "/v1/report-tokens"
	// RequestMediaType and ResponseMediaType are the bodies of TokensPath
	// (RFC 9578 §6 names the response's).
	RequestMediaType  = "application/cbor"
	ResponseMediaType = "application/private-token-response"
)

// KeyInfo is the issuer's token key for one campaign epoch.
type KeyInfo struct {
	IssuerName string `json:"issuer_name"`
	TokenType  uint16 `json:"token_type"`
	// TokenKey is the key's SPKI (PublicKey.Bytes), base64url without padding.
	TokenKey string `json:"token_key"`
	// TokenKeyID is its token_key_id, hex.
	TokenKeyID string `json:"token_key_id"`
}

// NewKeyInfo describes k, the key of issuer.
func NewKeyInfo(issuer string, k *PublicKey) KeyInfo {
	id := k.ID()
	return KeyInfo{IssuerName: issuer, TokenType: TokenType, TokenKey: base64.RawURLEncoding.EncodeToString(k.Bytes()), TokenKeyID: hex.EncodeToString(id[:])}
}

// Key decodes the key of i and checks its id and type.
func (i *KeyInfo) Key() (*PublicKey, error) {
	if i.TokenType != TokenType {
		return nil, malformed("token type %#04x", i.TokenType)
	}
	der, err := base64.RawURLEncoding.Strict().DecodeString(i.TokenKey)
	if err != nil {
		return nil, malformed("token key: %v", err)
	}
	k, err := ParsePublicKey(der)
	if err != nil {
		return nil, err
	}
	if id := k.ID(); hex.EncodeToString(id[:]) != i.TokenKeyID {
		return nil, malformed("token key id %s does not match the key", i.TokenKeyID)
	}
	return k, nil
}

// KeysURL is where issuerURL serves the key of (campaign, epoch).
func KeysURL(issuerURL, campaign string, epoch uint32) string {
	q := url.Values{"campaign": {campaign}, "epoch": {strconv.FormatUint(uint64(epoch), 10)}}
	return strings.TrimSuffix(issuerURL, "/") + KeysPath + "?" + q.Encode()
}

// maxAnswer bounds what a client reads of an issuer's answer.
const maxAnswer = 64 << 10

// FetchKey asks issuerURL for its key of (campaign, epoch) and checks
// that the issuer names itself issuer: a *StatusError of 404 if the
// issuer has made none (no device has asked for a token of that epoch).
func FetchKey(ctx context.Context, hc *http.Client, issuerURL, issuer, campaign string, epoch uint32) (*PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, KeysURL(issuerURL, campaign, epoch), nil)
	if err != nil {
		return nil, err
	}
	return keyAnswer(hc, req, issuerURL, issuer)
}

// keyAnswer sends req and decodes the KeyInfo it answers, checking that
// the issuer names itself issuer.
func keyAnswer(hc *http.Client, req *http.Request, issuerURL, issuer string) (*PublicKey, error) {
	body, err := do(hc, req)
	if err != nil {
		return nil, err
	}
	var info KeyInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("privpass: issuer key: %w", err)
	}
	if info.IssuerName != issuer {
		return nil, fmt.Errorf("privpass: issuer at %s is %q, want %q", issuerURL, info.IssuerName, issuer)
	}
	return info.Key()
}

// DeviceKey is FetchKey for a device: if the issuer has no key of
// (campaign, epoch) yet (404), the device asks it to make one, with a
// request signed under its credential. The key is the same either way.
func DeviceKey(ctx context.Context, hc *http.Client, issuerURL, issuer string, cred Credential, deviceKey ed25519.PrivateKey, campaign string, epoch uint32, now time.Time) (*PublicKey, error) {
	k, err := FetchKey(ctx, hc, issuerURL, issuer, campaign, epoch)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound {
		return k, err
	}
	body, err := SignKeyRequest(deviceKey, cred, campaign, epoch, now)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(issuerURL, "/")+KeysPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", RequestMediaType)
	return keyAnswer(hc, req, issuerURL, issuer)
}

// FetchToken is a device's whole issuance for (campaign, epoch): fetch
// (or have the issuer make) the key, blind a token for the report challenge, send the request
// signed with the device's key under its credential, and finalize the
// answer into a verified token.
func FetchToken(ctx context.Context, hc *http.Client, issuerURL, issuer string, cred Credential, deviceKey ed25519.PrivateKey, campaign string, epoch uint32, now time.Time) (Token, error) {
	k, err := DeviceKey(ctx, hc, issuerURL, issuer, cred, deviceKey, campaign, epoch, now)
	if err != nil {
		return Token{}, err
	}
	challenge, err := ReportChallenge(issuer, campaign, epoch).Marshal()
	if err != nil {
		return Token{}, err
	}
	treq, pending, err := Begin(k, challenge)
	if err != nil {
		return Token{}, err
	}
	body, err := SignIssuance(deviceKey, cred, campaign, epoch, treq, now)
	if err != nil {
		return Token{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(issuerURL, "/")+TokensPath, bytes.NewReader(body))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", RequestMediaType)
	answer, err := do(hc, req)
	if err != nil {
		return Token{}, err
	}
	resp, err := ParseTokenResponse(answer)
	if err != nil {
		return Token{}, err
	}
	t, err := pending.Finalize(resp)
	if err != nil {
		return Token{}, err
	}
	if err := Verify(k, &t, challenge); err != nil {
		return Token{}, err
	}
	return t, nil
}

// StatusError is an issuer's refusal.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("privpass: issuer answered %d: %s", e.Status, e.Body)
}

func do(hc *http.Client, req *http.Request) ([]byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("privpass: issuer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("privpass: issuer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	return body, nil
}

// AuthScheme is the HTTP authentication scheme of RFC 9577 §2.2.
const AuthScheme = "PrivateToken"

// AuthorizationHeader is the Authorization header value carrying t:
// PrivateToken token="<base64url>".
func AuthorizationHeader(t *Token) string {
	return AuthScheme + ` token="` + base64.RawURLEncoding.EncodeToString(t.Marshal()) + `"`
}

// ParseAuthorization decodes the token of a PrivateToken Authorization
// header value; ok is false when the header is of another scheme (or
// empty), err set when it is a PrivateToken header that does not decode.
func ParseAuthorization(h string) (t Token, ok bool, err error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, AuthScheme) {
		return Token{}, false, nil
	}
	rest = strings.TrimSpace(rest)
	v, found := strings.CutPrefix(rest, "token=")
	if !found {
		return Token{}, true, malformed("PrivateToken header without token=")
	}
	v = strings.Trim(v, `"`)
	// RFC 9577 says base64url; accept it with or without padding.
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	if err != nil {
		return Token{}, true, malformed("token: %v", err)
	}
	t, err = ParseToken(raw)
	return t, true, err
}
