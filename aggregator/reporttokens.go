package aggregator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/privpass"
)

// Report tokens at ingest (issue 16 item 7, docs/AGGREGATOR.md "Report
// tokens"). A campaign with report_tokens takes a report only with a
// Privacy Pass token its issuer signed for the report's campaign epoch:
// the upload's Authorization: PrivateToken header, one report per upload.
// The token is checked with the epoch's key, fetched from the issuer once
// and kept, before the report is opened (a forged one costs a signature
// check, ~60 µs, not an HPKE open); its nonce is then claimed in the
// store for the report (store.ClaimReportTokens) before the report is
// stored, so a token redeems one report: any other report with it is
// report_token_reused, while the same report resent (a lost answer, a
// redelivered queue message) holds its claim and meets itself as a replay.

// sentToken is the token an upload carried: nil for none, err set when
// the header was a PrivateToken one that does not decode.
type sentToken struct {
	token privpass.Token
	err   error
}

// tokenOf reads the token of an upload's Authorization header.
func tokenOf(r *http.Request) *sentToken {
	t, ok, err := privpass.ParseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		return nil
	}
	return &sentToken{token: t, err: err}
}

// errIssuer: the key of a campaign epoch's tokens could not be fetched
// from its issuer. Nothing of the batch is acknowledged (503): the device
// sends again, a queue redelivers.
var errIssuer = errors.New("aggregator: report-token issuer unavailable")

// errNoTokenKey: the issuer has made no key of the campaign epoch (404),
// so it signed no token of it: the report's token is forged.
var errNoTokenKey = errors.New("aggregator: the issuer has no key of this campaign epoch")

// tokenKeys fetches and keeps issuers' token keys.
type tokenKeys struct {
	hc   *http.Client
	mu   sync.Mutex
	keys map[tokenKeyAt]*privpass.PublicKey
	// fetches are the fetches under way: the reports that need a key being
	// fetched wait for that one fetch, while others (keys kept, other
	// issuers) go on.
	fetches singleflight.Group
}

type tokenKeyAt struct {
	url, issuer, campaign string
	epoch                 uint32
}

func newTokenKeys(hc *http.Client) *tokenKeys {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &tokenKeys{hc: hc, keys: map[tokenKeyAt]*privpass.PublicKey{}}
}

// key returns the issuer's key of (campaign, epoch), fetched once per
// node and kept (a failed fetch is not kept: the next report tries again).
func (k *tokenKeys) key(ctx context.Context, rt *campaign.ReportTokens, id string, epoch uint32) (*privpass.PublicKey, error) {
	at := tokenKeyAt{rt.IssuerURL, rt.IssuerName, id, epoch}
	k.mu.Lock()
	pk := k.keys[at]
	k.mu.Unlock()
	if pk != nil {
		return pk, nil
	}
	flight := k.fetches.DoChan(fmt.Sprintf("%q %q %q %d", at.url, at.issuer, at.campaign, at.epoch), func() (any, error) {
		// Not bound to one request: the others waiting share it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pk, err := privpass.FetchKey(ctx, k.hc, at.url, at.issuer, at.campaign, at.epoch)
		var se *privpass.StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			return nil, errNoTokenKey // not kept: a device may have the key made later
		} else if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errIssuer, at.url, err)
		}
		k.mu.Lock()
		k.keys[at] = pk
		k.mu.Unlock()
		return pk, nil
	})
	select {
	case r := <-flight:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*privpass.PublicKey), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", errIssuer, ctx.Err())
	}
}

// checkToken verifies the token of a report of campaign c (id) for epoch:
// "" when c takes no tokens or the token verifies; a reason when it must
// be refused; an error (errIssuer) when the issuer's key is out of reach.
func (s *Server) checkToken(ctx context.Context, c *campaign.Campaign, epoch uint32, tok *sentToken) (api.Reason, error, error) {
	if !c.RequiresTokens() {
		return "", nil, nil
	}
	if tok == nil {
		return api.ReasonReportTokenMissing, fmt.Errorf("campaign %q takes reports with a report token only", c.ID), nil
	}
	if tok.err != nil {
		return api.ReasonReportTokenInvalid, tok.err, nil
	}
	challenge, err := privpass.ReportChallenge(c.ReportTokens.IssuerName, c.ID, epoch).Marshal()
	if err != nil {
		return api.ReasonReportTokenInvalid, err, nil
	}
	pk, err := s.tokenKeys.key(ctx, c.ReportTokens, c.ID, epoch)
	if errors.Is(err, errNoTokenKey) {
		return api.ReasonReportTokenInvalid, err, nil
	} else if err != nil {
		return "", nil, err
	}
	if err := privpass.Verify(pk, &tok.token, challenge); err != nil {
		return api.ReasonReportTokenInvalid, err, nil
	}
	return "", nil, nil
}

// firstErr keeps the first error of parallel workers.
type firstErr struct {
	mu  sync.Mutex
	err error
}

func (f *firstErr) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

// claimTokens claims the token nonce of every report still good whose
// token verified (tokens[i] non-nil) and turns the reports whose token
// another report holds into report_token_reused. id and at read report i.
func (s *Server) claimTokens(ctx context.Context, results []api.Result, tokens []*privpass.Token, at func(i int) (store.ReportID, string, uint32)) error {
	var claims []store.TokenClaim
	var where []int
	for i, t := range tokens {
		if t == nil || results[i].Reason != "" {
			continue
		}
		id, c, epoch := at(i)
		claims = append(claims, store.TokenClaim{Campaign: c, Epoch: epoch, Nonce: t.Nonce[:], Report: id})
		where = append(where, i)
	}
	if len(claims) == 0 {
		return nil
	}
	held, err := s.store.ClaimReportTokens(ctx, claims)
	if err != nil {
		return err
	}
	for j, i := range where {
		if !held[j] {
			results[i].Reason = api.ReasonReportTokenReused
			results[i].Detail = "another report already redeemed this report token"
		}
	}
	return nil
}
