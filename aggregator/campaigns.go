package aggregator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/cloudflare/circl/sign/ed25519"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
)

// signer holds the campaign signing key. Its seed lives in the store
// (first node to start writes it), so every node signs with the same key
// and devices pin one public key.
type signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

const signingSecret = "campaign-signing-key-ed25519-v1"

func loadSigner(ctx context.Context, st store.Store, wrap *keyWrapper) (signer, error) {
	_, fresh, err := ed25519.GenerateKey(nil)
	if err != nil {
		return signer{}, err
	}
	sealed, err := wrap.seal(signingSecret, fresh.Seed())
	if err != nil {
		return signer{}, err
	}
	stored, err := st.Secret(ctx, signingSecret, sealed)
	if err != nil {
		return signer{}, err
	}
	seed, err := wrap.open(signingSecret, stored)
	if err != nil {
		return signer{}, err
	}
	if len(seed) != ed25519.SeedSize {
		return signer{}, fmt.Errorf("aggregator: stored signing key of %d bytes", len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return signer{priv: priv, pub: priv.Public().(ed25519.PublicKey)}, nil
}

// SigningKey is the public key devices verify campaign configs with.
func (s *Server) SigningKey() ed25519.PublicKey { return s.signer.pub }

// register signs c and stores it for tenant.
func (s *Server) register(ctx context.Context, c *Campaign, tenant string) error {
	config, sig, err := campaign.Sign(c, s.signer.priv)
	if err != nil {
		return err
	}
	return s.store.AddCampaign(ctx, store.Campaign{ID: c.ID, Tenant: tenant, Config: config, Signature: sig, CreatedAt: s.now().UTC()})
}

// checkPolicy applies the operator's limits to a marketer's campaign.
func (s *Server) checkPolicy(c *Campaign) error {
	p := s.policy
	switch {
	case len(c.Name) > p.MaxNameBytes:
		return refuse(ReasonNameTooLong, fmt.Sprintf("name is %d bytes, above the operator's limit %d", len(c.Name), p.MaxNameBytes))
	case len(c.Question.Categories) > p.MaxCategories:
		return refuse(ReasonTooManyCategories, fmt.Sprintf("the question has %d categories, above the operator's limit %d", len(c.Question.Categories), p.MaxCategories))
	case c.Epsilon > p.MaxEpsilon:
		return errorf(EPolicy, fmt.Sprintf("epsilon %v is above the operator's limit %v", c.Epsilon, p.MaxEpsilon))
	case c.EpochSeconds < p.MinEpochSeconds || c.EpochSeconds > p.MaxEpochSeconds:
		return errorf(EPolicy, fmt.Sprintf("epoch_seconds %d is outside the operator's range [%d, %d]", c.EpochSeconds, p.MinEpochSeconds, p.MaxEpochSeconds))
	case c.K < p.MinK:
		return errorf(EPolicy, fmt.Sprintf("k %d is below the operator's minimum %d", c.K, p.MinK))
	case p.RequireReportTokens && !c.RequiresTokens():
		return refuse(ReasonTokensRequired, "the operator takes only campaigns with report_tokens (one report per device with a credential and epoch)")
	}
	return s.checkSensitive(c)
}

// checkSensitive refuses a question that depends on a category under one of
// the policy's sensitive subtrees: a threshold or mean on it, or a top_k
// set that contains it (an empty set is every Interest category).
func (s *Server) checkSensitive(c *Campaign) error {
	cats := c.Question.Categories
	switch {
	case c.Question.Type != campaign.QuestionTopK:
		cats = []uint32{c.Question.Category}
	case len(cats) == 0 && len(s.policy.SensitiveCategories) > 0:
		return refuse(ReasonSensitive, "a top_k question over every category includes special categories of data (health, politics, religion) the operator does not allow; list the categories to rank")
	}
	for _, id := range cats {
		for at := id; at != 0; {
			if slices.Contains(s.policy.SensitiveCategories, at) {
				name := fmt.Sprint(at)
				if sc, ok := s.tax.Lookup(at); ok {
					name = sc.Name()
				}
				return refuse(ReasonSensitive, fmt.Sprintf("category %d is under %q, a special category of data (GDPR Art. 9) the operator does not allow campaigns to ask about", id, name))
			}
			node, ok := s.tax.Lookup(at)
			if !ok {
				break
			}
			at = node.Parent
		}
	}
	return nil
}

// CreateCampaign validates c against the taxonomy and the policy, signs it
// and registers it for tenant.
func (s *Server) CreateCampaign(ctx context.Context, c Campaign, tenant string) (CampaignInfo, error) {
	if err := c.Validate(s.tax); err != nil {
		return CampaignInfo{}, err
	}
	if err := s.checkRoleFor(&c); err != nil {
		return CampaignInfo{}, err
	}
	if err := s.checkPolicy(&c); err != nil {
		return CampaignInfo{}, err
	}
	if err := s.checkQuota(ctx, tenant); err != nil {
		return CampaignInfo{}, err
	}
	if err := s.register(ctx, &c, tenant); err != nil {
		return CampaignInfo{}, err
	}
	if err := s.reloadState(ctx); err != nil {
		return CampaignInfo{}, err
	}
	return campaignInfo(s.state.Load().campaigns[c.ID]), nil
}

// checkQuota refuses a campaign beyond Policy.MaxCampaignsPerTenant,
// counted on a snapshot loaded now (campaigns other nodes registered
// included). Nodes registering for one tenant at the same moment may each
// pass the check, so the quota can be overshot by that many; it bounds
// what one token can make devices download, not a bill.
func (s *Server) checkQuota(ctx context.Context, tenant string) error {
	if err := s.reloadState(ctx); err != nil {
		return err
	}
	n := 0
	for _, c := range s.state.Load().campaigns {
		if c.tenant == tenant {
			n++
		}
	}
	if n >= s.policy.MaxCampaignsPerTenant {
		return refuse(ReasonCampaignQuota, fmt.Sprintf("tenant %q has %d campaigns, the operator's limit", tenant, n))
	}
	return nil
}

func campaignInfo(r *registered) CampaignInfo {
	info := CampaignInfo{Campaign: r.signed.Config, Tenant: r.tenant, CreatedAt: r.createdAt, Signed: r.signed, State: string(r.lifecycle())}
	if !r.since.IsZero() {
		since := r.since.UTC()
		info.StateChangedAt = &since
	}
	return info
}

// visible returns the campaign id if p may see it; another tenant's
// campaign is reported missing, so its existence does not leak.
func (s *Server) visible(ctx context.Context, p Principal, id string) (*registered, error) {
	r, ok := s.current(ctx).campaigns[id]
	if !ok && s.reloadAfter(ctx, time.Now()) {
		r, ok = s.state.Load().campaigns[id]
	}
	if !ok || !p.sees(r.tenant) {
		return nil, errorf(ENotFound, fmt.Sprintf("no campaign %q", id))
	}
	return r, nil
}

func (s *Server) handleListCampaigns(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	snap := s.current(r.Context())
	list := []CampaignInfo{}
	archived := r.URL.Query().Get("archived") == "true"
	for _, id := range snap.order {
		if c := snap.campaigns[id]; p.sees(c.tenant) && (archived || c.lifecycle() != store.CampaignArchived) {
			list = append(list, campaignInfo(c))
		}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) handleGetCampaign(w http.ResponseWriter, r *http.Request) {
	c, err := s.visible(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, campaignInfo(c))
}

func (s *Server) handleCreateCampaign(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	var req api.CreateCampaignRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	tenant := p.Tenant
	switch {
	case p.Role == api.RoleOperator && !tenantPattern(req.Tenant):
		s.fail(w, errorf(EInvalid, "an operator must name the tenant (1-64 characters a-z, 0-9, '-')"))
		return
	case p.Role == api.RoleOperator:
		tenant = req.Tenant
	case req.Tenant != "" && req.Tenant != p.Tenant:
		s.fail(w, errorf(EForbidden, "a marketer creates campaigns only for their own tenant"))
		return
	}
	var c Campaign
	dec := json.NewDecoder(bytes.NewReader(req.Campaign))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		s.fail(w, errorf(EInvalid, "campaign: "+err.Error()))
		return
	}
	info, err := s.CreateCampaign(r.Context(), c, tenant)
	if errors.Is(err, store.ErrConflict) && p.Role != api.RoleOperator {
		err = s.conflictOrHidden(r.Context(), c.ID, tenant)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Location", "/v1/campaigns/"+c.ID)
	writeJSON(w, http.StatusCreated, info)
}

// conflictOrHidden is the error for a marketer of tenant whose campaign id
// is taken: 409 when their own tenant has it, and 404 — what reading it
// answers — when another tenant does, so a create does not tell "taken by
// someone else" apart from "yours".
func (s *Server) conflictOrHidden(ctx context.Context, id, tenant string) error {
	if err := s.reloadState(ctx); err != nil {
		return err
	}
	if c, ok := s.state.Load().campaigns[id]; ok && c.tenant == tenant {
		return errorf(EConflict, fmt.Sprintf("you already have a campaign %q: choose another id", id))
	}
	return errorf(ENotFound, fmt.Sprintf("campaign id %q is not available; choose another", id))
}

// handleSignedCampaigns serves every active campaign's signed config to
// devices (a paused or archived one is withdrawn: devices stop answering).
// Devices verify each with the signing key they were provisioned with.
func (s *Server) handleSignedCampaigns(w http.ResponseWriter, r *http.Request) {
	snap := s.current(r.Context())
	list := api.SignedCampaignList{Campaigns: []api.SignedCampaign{}}
	for _, id := range snap.order {
		if c := snap.campaigns[id]; c.lifecycle() == store.CampaignActive {
			list.Campaigns = append(list.Campaigns, c.signed)
		}
	}
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) handleSigningKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.SigningKey{Algorithm: "Ed25519", PublicKey: s.signer.pub})
}

// decodeJSON reads a JSON request body (Content-Type application/json,
// else 415) of at most 1 MiB, strictly.
func decodeJSON(r *http.Request, v any) error {
	if err := requireContentType(r, "application/json"); err != nil {
		return err
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(EInvalid, "request body: "+err.Error())
	}
	return nil
}
