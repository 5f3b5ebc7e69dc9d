package aggregator_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/wisp-project/wisp/internal/api"
)

// TestCampaignLifecycle: pausing withdraws the config from devices, keeps
// the current epoch's reports and refuses later epochs' (campaign_paused);
// resuming brings it back; archiving is final and hides it from the list;
// another tenant's marketer cannot touch it; results stay readable.
func TestCampaignLifecycle(t *testing.T) {
	f := newFixture(t)
	acme := f.srv.Token(t, api.RoleMarketer, "acme")
	globex := f.srv.Token(t, api.RoleMarketer, "globex")
	act := func(token, action string) (int, api.CampaignInfo) {
		t.Helper()
		status, b := f.do(t, "POST", "/v1/campaigns/runners/"+action, token, nil)
		var info api.CampaignInfo
		if status == http.StatusOK {
			if err := json.Unmarshal(b, &info); err != nil {
				t.Fatal(err)
			}
		}
		return status, info
	}
	configs := func() int {
		t.Helper()
		status, b := f.do(t, "GET", "/v1/campaign-configs", "", nil)
		var list api.SignedCampaignList
		if err := json.Unmarshal(b, &list); status != http.StatusOK || err != nil {
			t.Fatalf("campaign-configs: %d %v", status, err)
		}
		return len(list.Campaigns)
	}

	before := f.report(t, true)
	if status, _ := act(globex, "pause"); status != http.StatusNotFound {
		t.Fatalf("another tenant pauses: %d, want 404", status)
	}
	status, info := act(acme, "pause")
	if status != http.StatusOK || info.State != "paused" || info.StateChangedAt == nil {
		t.Fatalf("pause: %d %+v", status, info)
	}
	if n := configs(); n != 0 {
		t.Errorf("a paused campaign is still served to devices (%d configs)", n)
	}
	// The epoch it was paused in still counts; the next one does not.
	sameEpoch := f.report(t, true)
	alsoSame := f.report(t, false)
	next := f.reportAt(t, f.campaign.Epoch(f.clock.Now())+1, true)
	f.clock.Add(time.Hour) // the next epoch has begun
	resp := f.upload(t, before, sameEpoch, alsoSame, next)
	if !resp.Results[0].Accepted || !resp.Results[1].Accepted || !resp.Results[2].Accepted || resp.Results[3].Accepted || resp.Results[3].Reason != api.ReasonCampaignPaused {
		t.Fatalf("reports around a pause: %+v", resp.Results)
	}

	if status, info := act(acme, "resume"); status != http.StatusOK || info.State != "active" || configs() != 1 {
		t.Fatalf("resume: %d %+v", status, info)
	}
	if status, info := act(f.operator, "archive"); status != http.StatusOK || info.State != "archived" {
		t.Fatalf("archive: %d %+v", status, info)
	}
	if status, _ := act(acme, "resume"); status != http.StatusConflict {
		t.Errorf("resume an archived campaign: %d, want 409", status)
	}
	if status, _ := act(acme, "delete"); status != http.StatusNotFound {
		t.Errorf("unknown action: %d, want 404", status)
	}
	var list []api.CampaignInfo
	_, b := f.do(t, "GET", "/v1/campaigns", acme, nil)
	if err := json.Unmarshal(b, &list); err != nil || len(list) != 0 {
		t.Errorf("campaigns list with the archived one: %s (%v)", b, err)
	}
	_, b = f.do(t, "GET", "/v1/campaigns?archived=true", acme, nil)
	if err := json.Unmarshal(b, &list); err != nil || len(list) != 1 || list[0].State != "archived" {
		t.Errorf("campaigns list ?archived=true: %s (%v)", b, err)
	}
	// The epoch that counted is released as usual.
	f.closeEpoch()
	segs := f.segments(t)
	if len(segs) != 1 || segs[0].Suppressed || segs[0].Reports != 3 {
		t.Errorf("released after archiving: %+v", segs)
	}
}
