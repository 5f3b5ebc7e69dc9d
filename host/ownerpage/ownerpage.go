package ownerpage

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/wisp-project/wisp/host"
)

//go:embed assets
var assets embed.FS

// Options configures a Page. The zero value serves loopback names only.
type Options struct {
	// Hosts are the Host header values (a name, or name:port) the page
	// answers besides the loopback names 127.0.0.1, localhost and ::1,
	// which it answers on any port: the names the device maker's local UI
	// is reached by. Anything else is refused (DNS rebinding).
	Hosts []string
}

// Page is the owner's privacy page for one device and one session: it
// holds the session's secret, cookie and form token, drawn by New. Mount
// it at a path that ends in a slash (the page links relatively); it is
// safe for concurrent use.
type Page struct {
	dev     *host.Device
	key     string // in the login link only
	session string // the session cookie's value
	csrf    string // in every form
	hosts   map[string]bool
	origin  *http.CrossOriginProtection
	tmpl    *template.Template
	mux     *http.ServeMux
}

// cookieName is the session cookie.
const cookieName = "wisp_owner"

// csp allows nothing but the page's own stylesheet and forms: no script
// at all, no framing, nothing from elsewhere.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New returns the page for dev, with fresh secrets.
func New(dev *host.Device, opts Options) (*Page, error) {
	p := &Page{dev: dev, hosts: map[string]bool{}, origin: http.NewCrossOriginProtection()}
	for _, s := range []*string{&p.key, &p.session, &p.csrf} {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		*s = base64.RawURLEncoding.EncodeToString(b[:])
	}
	for _, h := range opts.Hosts {
		p.hosts[strings.ToLower(h)] = true
	}
	t, err := template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html")
	if err != nil {
		return nil, err
	}
	p.tmpl = t
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /session", p.login)
	m.Handle("GET /style.css", http.FileServerFS(static))
	m.HandleFunc("GET /{$}", p.signedIn(p.page))
	m.HandleFunc("POST /sharing", p.action(p.sharing))
	m.HandleFunc("POST /interest", p.action(p.forgetInterest))
	m.HandleFunc("POST /plugin", p.action(p.plugin))
	m.HandleFunc("POST /campaign", p.action(p.campaign))
	m.HandleFunc("POST /forget", p.signedIn(p.checked(p.forget)))
	p.mux = m
	return p, nil
}

// LoginPath is the link, relative to where the page is mounted, that
// starts the owner's session: it carries the session's secret, so show it
// to the owner only (`wisp device serve` prints it).
func (p *Page) LoginPath() string { return "session?key=" + p.key }

// ServeHTTP checks the Host and serves the page.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer") // the login link never leaks
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !p.hostAllowed(r.Host) {
		refuse(w, http.StatusMisdirectedRequest, "This page answers only on this device's own address (127.0.0.1).")
		return
	}
	p.mux.ServeHTTP(w, r)
}

// hostAllowed reports whether the request's Host is a loopback name or
// one the device maker listed: a page of evil.example whose name is made
// to resolve to 127.0.0.1 (DNS rebinding) still sends Host: evil.example.
func (p *Page) hostAllowed(hostport string) bool {
	hostport = strings.ToLower(hostport)
	if p.hosts[hostport] {
		return true
	}
	name := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		name = h
	}
	name = strings.Trim(name, "[]")
	return name == "localhost" || name == "127.0.0.1" || name == "::1" || p.hosts[name]
}

// login exchanges the secret in the link for the session cookie, and
// sends the browser on to the page, so the secret leaves the address bar.
func (p *Page) login(w http.ResponseWriter, r *http.Request) {
	if !equal(r.URL.Query().Get("key"), p.key) {
		refuse(w, http.StatusForbidden, "This link is not valid for this session. Open the link `wisp device serve` printed, or start it again.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: p.session, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	seeOther(w, "./")
}

// signedIn serves h only to the session's browser.
func (p *Page) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookieName)
		if err != nil || !equal(c.Value, p.session) {
			refuse(w, http.StatusUnauthorized, "Open this page with the link `wisp device serve` printed: it holds this session's secret.")
			return
		}
		h(w, r)
	}
}

// checked refuses a form that did not come from the page itself: it must
// be sent from the page's origin (Sec-Fetch-Site, or else Origin) and carry
// the session's form token.
func (p *Page) checked(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := p.origin.Check(r); err != nil {
			refuse(w, http.StatusForbidden, "Refused: this form was not sent from your privacy page.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<14)
		if err := r.ParseForm(); err != nil || !equal(r.PostForm.Get("csrf"), p.csrf) {
			refuse(w, http.StatusForbidden, "Refused: this form was not sent from your privacy page (its token is missing or stale; reload the page).")
			return
		}
		h(w, r)
	}
}

// action runs a change the owner asked for, then shows the page again
// with what was done (post, redirect, get: a reload does not repeat it).
func (p *Page) action(do func(*http.Request) (done string, err error)) http.HandlerFunc {
	return p.signedIn(p.checked(func(w http.ResponseWriter, r *http.Request) {
		done, err := do(r)
		var bad badRequest
		switch {
		case errors.As(err, &bad):
			refuse(w, http.StatusBadRequest, string(bad))
			return
		case err != nil:
			refuse(w, http.StatusInternalServerError, "The device could not do that: "+err.Error())
			return
		}
		seeOther(w, "./?done="+done)
	}))
}

// badRequest is a form the page did not send (an unknown plugin, say).
type badRequest string

func (e badRequest) Error() string { return string(e) }

func (p *Page) sharing(r *http.Request) (string, error) {
	switch r.PostForm.Get("sharing") {
	case "pause":
		return "paused", p.dev.PauseSharing(r.Context())
	case "resume":
		return "resumed", p.dev.ResumeSharing(r.Context())
	}
	return "", badRequest("sharing is pause or resume")
}

func (p *Page) forgetInterest(r *http.Request) (string, error) {
	id, err := strconv.ParseUint(r.PostForm.Get("category"), 10, 32)
	if err != nil {
		return "", badRequest("no such interest")
	}
	return "interest", p.dev.ForgetInterest(r.Context(), uint32(id))
}

func (p *Page) plugin(r *http.Request) (string, error) {
	name := r.PostForm.Get("name")
	list, err := p.dev.Plugins(r.Context())
	if err != nil {
		return "", err
	}
	for _, pl := range list {
		if pl.Name == name {
			return p.decide(r, host.PluginPurpose(name), "plugin")
		}
	}
	return "", badRequest(fmt.Sprintf("no plugin %q is installed", name))
}

func (p *Page) campaign(r *http.Request) (string, error) {
	id := r.PostForm.Get("id")
	st, err := p.dev.Status(r.Context())
	if err != nil {
		return "", err
	}
	for _, c := range st.Campaigns {
		if c.ID == id {
			return p.decide(r, host.CampaignPurpose(id), "campaign")
		}
	}
	return "", badRequest(fmt.Sprintf("this device knows no campaign %q", id))
}

// decide grants or revokes purpose as the form's "on" says; revoking
// keeps the data (forget erases it).
func (p *Page) decide(r *http.Request, purpose host.Purpose, kind string) (string, error) {
	switch r.PostForm.Get("on") {
	case "1":
		return kind + "-on", p.dev.Grant(r.Context(), purpose)
	case "0":
		return kind + "-off", p.dev.Revoke(r.Context(), purpose, false)
	}
	return "", badRequest("on is 1 or 0")
}

// forget erases everything derived from the owner and shows what the
// device held before and after.
func (p *Page) forget(w http.ResponseWriter, r *http.Request) {
	if r.PostForm.Get("confirm") != "yes" {
		refuse(w, http.StatusBadRequest, "Tick the box to confirm that everything should be forgotten.")
		return
	}
	ctx := r.Context()
	before, err := p.dev.Status(ctx)
	if err == nil {
		err = p.dev.Forget(ctx, "")
	}
	var after host.Status
	if err == nil {
		after, err = p.dev.Status(ctx)
	}
	if err != nil {
		refuse(w, http.StatusInternalServerError, "The device could not forget: "+err.Error())
		return
	}
	rows := make([]forgotRow, 0, len(storedKinds))
	for _, k := range storedKinds {
		rows = append(rows, forgotRow{What: k.label, Before: before.Stored[k.table], After: after.Stored[k.table]})
	}
	p.render(w, "forgot.html", struct{ Rows []forgotRow }{rows})
}

type forgotRow struct {
	What          string
	Before, After int
}

// page shows the owner everything.
func (p *Page) page(w http.ResponseWriter, r *http.Request) {
	v, err := p.view(r.Context(), r.URL.Query().Get("done"))
	if err != nil {
		refuse(w, http.StatusInternalServerError, "The device could not be read: "+err.Error())
		return
	}
	p.render(w, "page.html", v)
}

func (p *Page) render(w http.ResponseWriter, name string, data any) {
	var b strings.Builder
	if err := p.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		refuse(w, http.StatusInternalServerError, "The page could not be drawn: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(b.String()))
}

// seeOther redirects to a location relative to the request, kept
// relative (http.Redirect would make it absolute, which breaks a page
// mounted under a prefix with http.StripPrefix).
func seeOther(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}

// refuse answers with a short plain-text reason and nothing else.
func refuse(w http.ResponseWriter, code int, why string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, why)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
