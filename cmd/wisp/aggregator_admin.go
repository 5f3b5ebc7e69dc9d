package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/aggregator"
	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
)

// The admin commands work on the store directly, so they run anywhere the
// store is reachable, with or without a node serving.

// newAggregatorKeysCmd is wisp aggregator keys list, rotate and expire.
func newAggregatorKeysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Inspect and rotate the HPKE keys devices seal reports to"}
	var spec string
	var kek kekOptions
	var force, now, replace, keysJSON, ohttpKey bool
	var rot aggregator.Rotation
	list := &cobra.Command{
		Use: "list", Short: "List HPKE keys and their states", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srv, st, err := (&aggOptions{store: spec, kek: kek, existing: true}).open(cmd.Context(), slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer st.Close()
			infos, err := srv.KeyInfos(cmd.Context())
			if err != nil {
				return err
			}
			if keysJSON {
				if infos == nil {
					infos = []api.KeyInfo{}
				}
				return printJSON(cmd.OutOrStdout(), infos)
			}
			printKeys(cmd.OutOrStdout(), infos)
			return nil
		},
	}
	list.Flags().BoolVar(&keysJSON, "json", false, "print the keys as a JSON array")
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Run one rotation step: pending → active → expired (run it from cron)",
		Long: `rotate makes a new pending key when the newest active key is old (or with
--force), activates a key that has been pending long enough for every node to
know it, and expires older active keys once the newer one has been advertised
long enough for devices to have fetched it.

With --now it only makes a new key active at once (no pending hour): devices
get it first from their next config fetch, and older active keys stay accepted
for --overlap. For a compromised key use expire ID --replace instead.

With --ohttp it rotates the Oblivious HTTP gateway key instead: a new key (when
the advertised one is older than --every, or with --force) is accepted at once
but advertised at /v1/ohttp-keys only after the serving nodes' pending time
(serve --rotate-pending), and the previous one is accepted for their overlap
(--rotate-overlap) more, then retired. Every node follows within its refresh
interval; no restart.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			srv, st, err := (&aggOptions{store: spec, rotation: rot, kek: kek, existing: true}).open(cmd.Context(), slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer st.Close()
			var changes []string
			switch {
			case now && force:
				return fmt.Errorf("--now and --force: give one (--now makes an active key, --force a pending one)")
			case ohttpKey && now:
				return fmt.Errorf("--ohttp and --now: an OHTTP key is always pending first; use --ohttp --force")
			case ohttpKey:
				if changes, err = srv.RotateOHTTPKeys(cmd.Context(), force); err != nil {
					return err
				}
				if len(changes) == 0 {
					changes = []string{"OHTTP key: no change (the advertised key is younger than --every; --force makes a new one)"}
				}
				for _, c := range changes {
					fmt.Fprintln(cmd.OutOrStdout(), c)
				}
				return nil
			case now:
				changes, err = srv.RotateNow(cmd.Context())
			default:
				changes, err = srv.RotateKeys(cmd.Context(), force)
			}
			if err != nil {
				return err
			}
			return printChanges(cmd, srv, changes)
		},
	}
	rotate.Flags().BoolVar(&force, "force", false, "make a new pending key now")
	rotate.Flags().BoolVar(&ohttpKey, "ohttp", false, "rotate the OHTTP gateway key instead of the HPKE report keys")
	rotate.Flags().BoolVar(&now, "now", false, "make a new key active at once; older active keys stay accepted for --overlap")
	durationVar(rotate.Flags(), &rot.Every, "every", 0, "make a successor after the active key is this old (0: 720h)")
	durationVar(rotate.Flags(), &rot.Pending, "pending", 0, "time pending before active (0: 1h)")
	durationVar(rotate.Flags(), &rot.Overlap, "overlap", 0, "old key still accepted this long after its successor became active (0: 24h)")
	expire := &cobra.Command{
		Use:     "expire ID",
		Example: "  wisp aggregator keys expire 3 --replace   (key 3 is compromised: a new active key takes its place)",
		Short:   "Expire a key at once (a compromised key); every node refuses it within a second",
		Long: `expire stops key ID being accepted at once, on every node (they are told of
the change; see docs/AGGREGATOR.md, "Compromised key"). Expiring the only
active key is refused unless --replace, which stores a new active key in the
same transaction, so /v1/hpke-config never goes empty.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 8)
			if err != nil {
				return fmt.Errorf("key id %q: want a number 0–255 from `wisp aggregator keys list`; e.g. wisp aggregator keys expire 3", args[0])
			}
			srv, st, err := (&aggOptions{store: spec, kek: kek, existing: true}).open(cmd.Context(), slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			defer st.Close()
			changes, err := srv.ExpireKey(cmd.Context(), uint8(id), replace)
			if errors.Is(err, store.ErrLastActiveKey) {
				return fmt.Errorf("%w: run wisp aggregator keys expire %d --replace", err, id)
			}
			if err != nil {
				return err
			}
			return printChanges(cmd, srv, changes)
		},
	}
	expire.ValidArgsFunction = completeKeyIDs(&spec)
	expire.Flags().BoolVar(&replace, "replace", false, "store a new active key in the same transaction (needed when ID is the only active key)")
	for _, c := range []*cobra.Command{list, rotate, expire} {
		aggStoreFlag(c, &spec)
		aggKEKFlag(c, &kek)
		keys.AddCommand(c)
	}
	return keys
}

// printChanges prints what a key command changed and the keys after it.
func printChanges(cmd *cobra.Command, srv *aggregator.Server, changes []string) error {
	if len(changes) == 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "nothing to do")
	}
	for _, c := range changes {
		fmt.Fprintln(cmd.OutOrStdout(), c)
	}
	infos, err := srv.KeyInfos(cmd.Context())
	if err != nil {
		return err
	}
	printKeys(cmd.OutOrStdout(), infos)
	return nil
}

func printKeys(w io.Writer, infos []api.KeyInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tstate\tcreated\tchanged")
	for _, k := range infos {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", k.ID, k.State, k.CreatedAt.Format(time.RFC3339), k.ChangedAt.Format(time.RFC3339))
	}
	tw.Flush()
}

// newAggregatorTokensCmd is wisp aggregator tokens create, list and revoke.
func newAggregatorTokensCmd() *cobra.Command {
	tokens := &cobra.Command{Use: "tokens", Short: "Create, list and revoke API tokens"}
	var spec string
	var req api.CreateTokenRequest
	var role string
	var ttl time.Duration
	var asJSON, listJSON bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token and print its secret (shown once)",
		Example: `  wisp aggregator tokens create --role operator --name alice
  wisp aggregator tokens create --role marketer --tenant acme --name acme-dashboard --ttl 720h`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl < 0 || ttl%time.Second != 0 {
				return fmt.Errorf("--ttl wants a positive whole number of seconds, not %s; e.g. --ttl 720h (0: never expires)", ttl)
			}
			req.TTLSeconds = int64(ttl / time.Second)
			st, err := store.Open(cmd.Context(), spec)
			if err != nil {
				return err
			}
			defer st.Close()
			req.Role = api.Role(role)
			info, err := aggregator.CreateToken(cmd.Context(), st, time.Now(), req)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(info)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", info.Token)
			fmt.Fprintf(cmd.ErrOrStderr(), "token id %s (role %s%s%s); the secret above is not stored and cannot be shown again\n",
				info.ID, info.Role, tenantSuffix(info.Tenant), expirySuffix(info.ExpiresAt))
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "marketer", "operator or marketer")
	create.Flags().StringVar(&req.Tenant, "tenant", "", "the marketer's tenant")
	create.Flags().StringVar(&req.Name, "name", "", "a label for the token")
	create.Flags().BoolVar(&asJSON, "json", false, "print the token as JSON")
	durationVar(create.Flags(), &ttl, "ttl", 0, "the token expires this long after now, e.g. 720h or 30d (0: never)")
	list := &cobra.Command{
		Use: "list", Short: "List tokens (never their secrets)", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openExisting(cmd.Context(), spec)
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := st.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			if listJSON {
				infos := []api.TokenInfo{}
				for _, t := range list {
					infos = append(infos, aggregator.TokenInfoOf(t))
				}
				return printJSON(cmd.OutOrStdout(), infos)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "id\trole\ttenant\tname\tcreated\texpires")
			for _, t := range list {
				expires := "never"
				if !t.ExpiresAt.IsZero() {
					expires = t.ExpiresAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%x\t%s\t%s\t%s\t%s\t%s\n", t.Hash, t.Role, t.Tenant, t.Name, t.CreatedAt.Format(time.RFC3339), expires)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&listJSON, "json", false, "print the tokens as a JSON array (ids, never secrets)")
	revoke := &cobra.Command{
		Use:     "revoke ID",
		Example: "  wisp aggregator tokens revoke 9f86d0   (the id or a unique prefix of it)",
		Short:   "Revoke a token by its id",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.ToLower(args[0])
			if strings.Trim(id, "0123456789abcdef") != "" || len(id) < 6 || len(id) > 64 {
				return fmt.Errorf("token id %q: want its 64 hex digits or a unique prefix of at least 6, as `wisp aggregator tokens list` shows; e.g. wisp aggregator tokens revoke 9f86d0", args[0])
			}
			st, err := openExisting(cmd.Context(), spec)
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := st.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			var match [][]byte
			for _, t := range list {
				if strings.HasPrefix(hex.EncodeToString(t.Hash), id) {
					match = append(match, t.Hash)
				}
			}
			switch len(match) {
			case 0:
				return fmt.Errorf("no token has an id starting %s (see wisp aggregator tokens list)", id)
			case 1:
			default:
				return fmt.Errorf("%d tokens have ids starting %s: give more digits", len(match), id)
			}
			if err := st.DeleteToken(cmd.Context(), match[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %x\n", match[0])
			return nil
		},
	}
	revoke.ValidArgsFunction = completeTokenIDs(&spec)
	for _, c := range []*cobra.Command{create, list, revoke} {
		aggStoreFlag(c, &spec)
		tokens.AddCommand(c)
	}
	return tokens
}

func expirySuffix(at *time.Time) string {
	if at == nil {
		return ""
	}
	return ", expires " + at.Format(time.RFC3339)
}

func tenantSuffix(t string) string {
	if t == "" {
		return ""
	}
	return ", tenant " + t
}

// newAggregatorReleaseCmd is wisp aggregator release: one release pass,
// what serve's loop does every minute, for operators who run no node or
// want a result out now.
func newAggregatorReleaseCmd() *cobra.Command {
	var o aggOptions
	cmd := &cobra.Command{
		Use:   "release",
		Short: "Release every campaign's closed epochs now (serve does this every minute)",
		Long: `release stores the result of every closed, settled epoch not yet released and
deletes released epochs' reports (unless --keep-reports), exactly as a serving
node's background pass does. Reading results never releases them.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.existing = true
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			srv, st, err := o.open(cmd.Context(), log)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := srv.ReleaseDue(cmd.Context()); err != nil {
				return err
			}
			segs, err := srv.Segments(cmd.Context(), aggregator.Principal{Role: aggregator.RoleOperator})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d epochs released in total\n", len(segs))
			return nil
		},
	}
	aggStoreFlag(cmd, &o.store)
	aggKEKFlag(cmd, &o.kek)
	cmd.Flags().StringVar(&o.taxonomy, "taxonomy", "", "taxonomy TSV (default: the embedded IAB Audience Taxonomy 1.1)")
	durationVar(cmd.Flags(), &o.policy.Grace, "grace", 0, "reports accepted this long after their epoch ends (0: 1h); an epoch is released after it")
	cmd.Flags().BoolVar(&o.policy.KeepReports, "keep-reports", false, "keep an epoch's reports after its result is released")
	return cmd
}
