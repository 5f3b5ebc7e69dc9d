package aggregator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
)

// Tokens are bearer secrets "wisp_" + 43 base64url characters (32 random
// bytes). The store keeps only their SHA-256, so a database leak yields no
// usable credential; the id shown to operators is that hash in hex.
const tokenPrefix = "wisp_"

// Principal is who a request acts for.
type Principal struct {
	Role   Role
	Tenant string // for marketers
	Name   string
}

// sees reports whether p may see tenant's campaigns.
func (p Principal) sees(tenant string) bool { return p.Role == api.RoleOperator || p.Tenant == tenant }

type principalKey struct{}

func principalOf(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

type access int

const (
	anyRole access = iota
	operatorOnly
)

// auth authenticates the bearer token and checks the role.
func (s *Server) auth(need access, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !strings.HasPrefix(secret, tokenPrefix) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wisp"`)
			s.fail(w, errorf(EUnauthorized, "missing or malformed bearer token"))
			return
		}
		hash := sha256.Sum256([]byte(secret))
		tok, err := s.store.Token(r.Context(), hash[:])
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wisp", error="invalid_token"`)
			s.fail(w, errorf(EUnauthorized, "unknown or revoked token"))
			return
		} else if err != nil {
			s.fail(w, err)
			return
		}
		if !tok.ExpiresAt.IsZero() && !s.now().Before(tok.ExpiresAt) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wisp", error="invalid_token", error_description="expired"`)
			s.fail(w, &Error{Code: EUnauthorized, Reason: ReasonTokenExpired,
				Message: "token expired at " + tok.ExpiresAt.UTC().Format(time.RFC3339) + "; ask the operator for a new one"})
			return
		}
		p := Principal{Role: tok.Role, Tenant: tok.Tenant, Name: tok.Name}
		if need == operatorOnly && p.Role != api.RoleOperator {
			s.fail(w, errorf(EForbidden, "operators only"))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// CreateToken makes a token for role (and tenant, for a marketer) and
// returns it with its secret, which is shown this once.
func CreateToken(ctx context.Context, st store.Store, now time.Time, req CreateTokenRequest) (TokenInfo, error) {
	switch {
	case !req.Role.IsValid():
		return TokenInfo{}, errorf(EInvalid, "role must be operator or marketer")
	case req.Role == api.RoleMarketer && !tenantPattern(req.Tenant):
		return TokenInfo{}, errorf(EInvalid, "a marketer token needs a tenant of 1-64 characters a-z, 0-9, '-'")
	case req.Role == api.RoleOperator && req.Tenant != "":
		return TokenInfo{}, errorf(EInvalid, "operator tokens have no tenant")
	case len(req.Name) > 200:
		return TokenInfo{}, errorf(EInvalid, "name longer than 200 bytes")
	case req.TTLSeconds < 0:
		return TokenInfo{}, errorf(EInvalid, "ttl_seconds must be positive, or 0 for a token that never expires")
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return TokenInfo{}, err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	hash := sha256.Sum256([]byte(secret))
	t := store.Token{Hash: hash[:], Role: req.Role, Tenant: req.Tenant, Name: req.Name, CreatedAt: now.UTC()}
	if req.TTLSeconds > 0 {
		t.ExpiresAt = t.CreatedAt.Add(time.Duration(req.TTLSeconds) * time.Second)
	}
	if err := st.AddToken(ctx, t); err != nil {
		return TokenInfo{}, err
	}
	info := TokenInfoOf(t)
	info.Token = secret
	return info, nil
}

// TokenInfoOf describes t, without a secret (the store has none).
func TokenInfoOf(t store.Token) TokenInfo {
	info := TokenInfo{ID: hex.EncodeToString(t.Hash), Role: t.Role, Tenant: t.Tenant, Name: t.Name, CreatedAt: t.CreatedAt}
	if !t.ExpiresAt.IsZero() {
		info.ExpiresAt = &t.ExpiresAt
	}
	return info
}

func tenantPattern(t string) bool {
	if len(t) == 0 || len(t) > 64 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// CreateToken is the package function on this server's store and clock.
func (s *Server) CreateToken(ctx context.Context, req CreateTokenRequest) (TokenInfo, error) {
	return CreateToken(ctx, s.store, s.now(), req)
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var req CreateTokenRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	info, err := s.CreateToken(r.Context(), req)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, info)
}

func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.Tokens(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	infos := []TokenInfo{}
	for _, t := range list {
		infos = append(infos, TokenInfoOf(t))
	}
	writeJSON(w, http.StatusOK, infos)
}

func (s *Server) handleDeleteToken(w http.ResponseWriter, r *http.Request) {
	hash, err := hex.DecodeString(r.PathValue("id"))
	if err != nil || len(hash) != sha256.Size {
		s.fail(w, errorf(EInvalid, "token id must be 64 hex digits"))
		return
	}
	if err := s.store.DeleteToken(r.Context(), hash); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
