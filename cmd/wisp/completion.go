package main

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/host"
)

// Dynamic shell completion: the values a command takes that live in the
// device or the store (purposes, plugin names, token and key ids). Completion
// reads only: a missing device or store completes nothing and creates
// nothing.

// completeDevice completes from the open device in --dir.
func (f *deviceFlags) completeDevice(list func(context.Context, host.Status, string) []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []string
		if _, err := readDeviceSettings(f.dir); err == nil {
			f.withDevice(cmd, func(ctx context.Context, d *host.Device) error {
				st, err := d.Status(ctx)
				if err == nil {
					out = list(ctx, st, toComplete)
				}
				return err
			})
		}
		return filterPrefix(out, args, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// purposes are plugin:NAME for every installed plugin and campaign:ID for
// every campaign the device knows; granted only those (not) granted.
func purposes(granted bool) func(context.Context, host.Status, string) []string {
	return func(_ context.Context, st host.Status, _ string) []string {
		var out []string
		for _, p := range st.Plugins {
			if p.Consent == granted {
				out = append(out, host.PluginPurpose(p.Name).String())
			}
		}
		for _, c := range st.Campaigns {
			if c.Consent == granted {
				out = append(out, "campaign:"+c.ID)
			}
		}
		return out
	}
}

func pluginNames(_ context.Context, st host.Status, _ string) []string {
	var out []string
	for _, p := range st.Plugins {
		out = append(out, p.Name)
	}
	return out
}

// completeOnce wraps a completion for a command that takes one argument.
func completeOnce(fn cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fn(cmd, args, toComplete)
	}
}

// completeTokenIDs completes token ids from an existing --store.
func completeTokenIDs(spec *string) cobra.CompletionFunc {
	return completeFromStore(spec, func(ctx context.Context, st store.Store) ([]string, error) {
		list, err := st.Tokens(ctx)
		var out []string
		for _, t := range list {
			out = append(out, hex.EncodeToString(t.Hash)+"\t"+string(t.Role)+" "+t.Tenant+" "+t.Name)
		}
		return out, err
	})
}

// completeKeyIDs completes the ids of the keys not yet expired, from an
// existing --store.
func completeKeyIDs(spec *string) cobra.CompletionFunc {
	return completeFromStore(spec, func(ctx context.Context, st store.Store) ([]string, error) {
		list, err := st.Keys(ctx)
		var out []string
		for _, k := range list {
			if k.State != store.KeyExpired {
				out = append(out, strconv.Itoa(int(k.ID))+"\t"+string(k.State))
			}
		}
		return out, err
	})
}

// completeFromStore completes a command's one argument from the values
// list reads from an existing --store (never creating one).
func completeFromStore(spec *string, list func(context.Context, store.Store) ([]string, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		st, err := openExisting(cmd.Context(), *spec)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer st.Close()
		out, err := list(cmd.Context(), st)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return filterPrefix(out, nil, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// filterPrefix keeps the values that start with toComplete and are not
// already among args.
func filterPrefix(values, args []string, toComplete string) []string {
	var out []string
	for _, v := range values {
		word, _, _ := strings.Cut(v, "\t")
		if !strings.HasPrefix(word, toComplete) || contains(args, word) {
			continue
		}
		out = append(out, v)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
