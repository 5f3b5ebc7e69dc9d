package aggregator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/dpnoise"
	"github.com/wisp-project/wisp/internal/prio"
)

// Prio3Role is a server's part in the two-aggregator (prio3) mode.
type Prio3Role string

// Roles. A single aggregator serves LDP campaigns only (today's behaviour);
// a leader also takes prio3 reports from devices, runs aggregation jobs
// with its helper and publishes the results; a helper prepares the jobs
// its leader sends and answers with its noised aggregate share.
const (
	RoleSingle Prio3Role = "single"
	RoleLeader Prio3Role = "leader"
	RoleHelper Prio3Role = "helper"
)

// Prio3Options configure the two-aggregator mode.
type Prio3Options struct {
	// Role: "" means RoleSingle.
	Role Prio3Role
	// PeerToken is the bearer secret between leader and helper (both get
	// the same); a leader or a helper needs one of at least 32 bytes.
	PeerToken string
	// Client sends the leader's requests to the helper; nil means a client
	// with a 2-minute timeout.
	Client *http.Client
	// JobSize is how many reports one aggregation job carries; 0 means 1000.
	JobSize int
}

// prio3Server is the prio3 part of a Server.
type prio3Server struct {
	role     Prio3Role
	tokenSum [32]byte // SHA-256 of the peer token, compared in constant time
	token    string
	client   *http.Client
	jobSize  int

	// addNoise adds this aggregator's central noise to its share at
	// collection. Only tests replace it (export_test.go); there is no
	// configuration that does.
	addNoise func(a *prio.AggShare, epsilon float64) error

	provisioned sync.Map // campaign id → true once the helper has it (leader)
	blocked     sync.Map // "campaign/epoch" → why its last collection failed (prio3_status.go)
	verifyKeys  sync.Map // campaign id → prio.VerifyKey, once read from the store (it never changes)
	jobs        sync.Mutex
}

func newPrio3Server(o Prio3Options) (*prio3Server, error) {
	p := &prio3Server{role: o.Role, token: o.PeerToken, client: o.Client, jobSize: o.JobSize,
		addNoise: func(a *prio.AggShare, eps float64) error { return a.AddNoise(dpnoise.CryptoSource(), eps) }}
	if p.role == "" {
		p.role = RoleSingle
	}
	switch p.role {
	case RoleSingle:
	case RoleLeader, RoleHelper:
		if len(o.PeerToken) < 32 {
			return nil, fmt.Errorf("%w: a %s needs a peer token of at least 32 bytes", ErrConfig, p.role)
		}
	default:
		return nil, fmt.Errorf("%w: role %q: want single, leader or helper", ErrConfig, p.role)
	}
	p.tokenSum = sha256.Sum256([]byte(o.PeerToken))
	if p.client == nil {
		p.client = &http.Client{Timeout: 2 * time.Minute}
	}
	if p.jobSize <= 0 || p.jobSize > maxJobReports {
		p.jobSize = 1000
	}
	return p, nil
}

// isPrio3 reports whether r is a two-aggregator campaign.
func isPrio3(r *registered) bool { return isPrio3Config(&r.Campaign) }

func isPrio3Config(c *Campaign) bool { return c.IsPrio3() && c.Prio3 != nil }

// checkRoleFor refuses a prio3 campaign on an aggregator that is not a
// leader: only a leader takes its reports (a helper gets its campaigns from
// its leader, never from the API or its own --campaigns).
func (s *Server) checkRoleFor(c *Campaign) error {
	if c.IsPrio3() && s.prio3.role != RoleLeader {
		return errorf(EInvalid, fmt.Sprintf("campaign %q is a prio3 campaign: register it on a prio3 leader (this aggregator is a %s)", c.ID, s.prio3.role))
	}
	return nil
}

// prio3Params is r's Prio3 instance (validated with the campaign).
func prio3Params(r *registered) (prio.Params, error) { return r.Instance() }

// newPrio3Aggregator returns a fresh aggregator of r's instance for role:
// circl's instances are not safe for concurrent use, so one per job.
func (s *Server) newPrio3Aggregator(ctx context.Context, r *registered, role prio.Role) (*prio.Aggregator, prio.Params, error) {
	p, err := prio3Params(r)
	if err != nil {
		return nil, p, err
	}
	vk, err := s.verifyKey(ctx, r.ID, nil)
	if err != nil {
		return nil, p, err
	}
	a, err := prio.NewAggregator(p, prio.AppContext(r.ID), role, vk)
	return a, p, err
}

func verifyKeyLabel(campaign string) string { return "prio3-verify-key/" + campaign }

// errNotProvisioned: the helper has no verify key for the campaign yet.
var errNotProvisioned = errors.New("aggregator: prio3 campaign not provisioned")

// verifyKey returns the campaign's verify key, sealed at rest with the key
// encryption key like the HPKE private keys. The leader draws it the first
// time (first writer wins, on every node); the helper stores the one its
// leader provisions (given), and refuses a different one later. With
// given nil a helper without a key gets errNotProvisioned.
func (s *Server) verifyKey(ctx context.Context, campaign string, given []byte) (prio.VerifyKey, error) {
	if k, ok := s.prio3.verifyKeys.Load(campaign); ok && given == nil {
		return k.(prio.VerifyKey), nil
	}
	label := verifyKeyLabel(campaign)
	var stored []byte
	var err error
	if given == nil && s.prio3.role != RoleLeader {
		stored, err = s.store.LookupSecret(ctx, label)
		if errors.Is(err, store.ErrNotFound) {
			return prio.VerifyKey{}, fmt.Errorf("%w: %q", errNotProvisioned, campaign)
		}
	} else {
		fresh := given
		if fresh == nil {
			k := prio.NewVerifyKey()
			fresh = k[:]
		}
		var sealed []byte
		if sealed, err = s.wrap.seal(label, fresh); err != nil {
			return prio.VerifyKey{}, err
		}
		stored, err = s.store.Secret(ctx, label, sealed)
	}
	if err != nil {
		return prio.VerifyKey{}, err
	}
	key, err := s.wrap.open(label, stored)
	if err != nil {
		return prio.VerifyKey{}, err
	}
	if len(key) != len(prio.VerifyKey{}) {
		return prio.VerifyKey{}, fmt.Errorf("aggregator: stored verify key of %s has %d bytes", campaign, len(key))
	}
	if given != nil && subtle.ConstantTimeCompare(key, given) != 1 {
		return prio.VerifyKey{}, errorf(EConflict, fmt.Sprintf("campaign %q already has another verify key", campaign))
	}
	s.prio3.verifyKeys.Store(campaign, prio.VerifyKey(key))
	return prio.VerifyKey(key), nil
}

// peerAuth lets a request through only with the peer token, and only on
// the role that serves it.
func (s *Server) peerAuth(role Prio3Role, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.prio3.role != role {
			s.fail(w, errorf(ENotFound, fmt.Sprintf("this aggregator is a %s, not a prio3 %s", s.prio3.role, role)))
			return
		}
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(secret))
		if !ok || subtle.ConstantTimeCompare(sum[:], s.prio3.tokenSum[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wisp-peer"`)
			s.fail(w, errorf(EUnauthorized, "missing or wrong peer token"))
			return
		}
		next(w, r)
	})
}

// readPeerBody reads a peer request's body within maxPeerBodySize.
func readPeerBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPeerBodySize))
	if err != nil {
		return nil, errorf(EInvalid, "request body: "+err.Error())
	}
	return b, nil
}

// writeCBOR answers with a peer message.
func (s *Server) writeCBOR(w http.ResponseWriter, v any) {
	b, err := peerEnc.Marshal(v)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Write(b)
}

// ErrHelper: the prio3 helper did not answer as it should (down,
// refusing, or unreachable). Nothing is counted or released until it does.
var ErrHelper = errors.New("aggregator: prio3 helper")

// callHelper POSTs a peer message to the helper of r and decodes the
// answer into out.
func callHelper[T interface{ check() error }](ctx context.Context, s *Server, r *registered, path string, msg any) (T, error) {
	var zero T
	body, err := peerEnc.Marshal(msg)
	if err != nil {
		return zero, err
	}
	url := strings.TrimSuffix(r.Prio3.HelperURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return zero, err
	}
	req.Header.Set("Authorization", "Bearer "+s.prio3.token)
	req.Header.Set("Content-Type", "application/cbor")
	resp, err := s.prio3.client.Do(req)
	if err != nil {
		return zero, fmt.Errorf("%w: %v", ErrHelper, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPeerBodySize))
	if err != nil {
		return zero, fmt.Errorf("%w: %s: %v", ErrHelper, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return zero, &helperError{status: resp.StatusCode, detail: problemDetail(b)}
	}
	return decodePeer[T](b)
}

// helperError is a refusal by the helper, with its problem detail.
type helperError struct {
	status int
	detail string
}

func (e *helperError) Error() string {
	return fmt.Sprintf("%v: HTTP %d: %s", ErrHelper, e.status, e.detail)
}

func (e *helperError) Unwrap() error { return ErrHelper }

// problemDetail is the detail (or title) of a problem document, or the
// start of whatever else the body is.
func problemDetail(b []byte) string {
	var p struct{ Title, Detail string }
	if json.Unmarshal(b, &p) == nil && (p.Detail != "" || p.Title != "") {
		return strings.TrimSpace(p.Title + ": " + p.Detail)
	}
	return string(b[:min(len(b), 200)])
}

// prio3Routes adds the peer endpoints (served by a helper only; every
// other role answers 404):
//
//	POST /v1/prio3/campaigns   provision a campaign and its verify key
//	POST /v1/prio3/aggregate   an aggregation job
//	POST /v1/prio3/collect     the helper's noised aggregate share of a batch
func (s *Server) prio3Routes(mux *http.ServeMux) {
	mux.Handle("POST /v1/prio3/campaigns", s.peerAuth(RoleHelper, s.handlePrio3Provision))
	mux.Handle("POST /v1/prio3/aggregate", s.peerAuth(RoleHelper, s.handlePrio3Aggregate))
	mux.Handle("POST /v1/prio3/collect", s.peerAuth(RoleHelper, s.handlePrio3Collect))
}
