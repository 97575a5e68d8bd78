package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
)

// fieldKind is how a record field is given on the command line.
type fieldKind int

const (
	fString fieldKind = iota
	fList             // comma-separated, repeatable
	fBool
	fInt
)

// field maps a flag to a record's JSON key; "parent.member" names a member
// of a nested object.
type field struct {
	flag, key, usage string
	kind             fieldKind
}

// fieldSet holds the values of field flags after parsing.
type fieldSet struct {
	fields []field
	values map[string]any // flag name -> *string, *listValue, *bool, *int
}

func registerFields(fs *flag.FlagSet, fields []field) fieldSet {
	set := fieldSet{fields: fields, values: map[string]any{}}
	for _, f := range fields {
		switch f.kind {
		case fString:
			set.values[f.flag] = fs.String(f.flag, "", f.usage)
		case fList:
			l := &listValue{}
			fs.Var(l, f.flag, f.usage+" (comma-separated)")
			set.values[f.flag] = l
		case fBool:
			set.values[f.flag] = fs.Bool(f.flag, false, f.usage)
		case fInt:
			set.values[f.flag] = fs.Int(f.flag, 0, f.usage)
		}
	}
	return set
}

// apply writes every field flag given on the command line into body; an
// empty string or list removes the field.
func (s fieldSet) apply(fs *flag.FlagSet, body map[string]any) {
	given := setFlags(fs)
	for _, f := range s.fields {
		if !given[f.flag] {
			continue
		}
		var v any
		switch p := s.values[f.flag].(type) {
		case *string:
			v = *p
		case *listValue:
			v = []string(*p)
		case *bool:
			v = *p
		case *int:
			v = *p
		}
		setKey(body, f.key, v, v == "" || (f.kind == fList && len(v.([]string)) == 0))
	}
}

// setKey writes v at key ("parent.member" inside a nested object), or removes
// the key when remove is set; a nested object left empty is removed.
func setKey(body map[string]any, key string, v any, remove bool) {
	parent, member, nested := strings.Cut(key, ".")
	if !nested {
		if remove {
			delete(body, key)
		} else {
			body[key] = v
		}
		return
	}
	obj, _ := body[parent].(map[string]any)
	if obj == nil {
		obj = map[string]any{}
	}
	setKey(obj, member, v, remove)
	if len(obj) == 0 {
		delete(body, parent)
		return
	}
	body[parent] = obj
}

// recordCmd describes the CLI of one admin record type.
type recordCmd struct {
	noun   string // "client"
	plural string // "clients"
	key    string // the key's JSON name: "id", "audience", "issuer"
	fields []field
	// path returns the API path of one record.
	path func(key string) string
	// table prints a list answer.
	table func(e *cli, body []byte) error
}

func (rc recordCmd) synopsis(sub, args string) string {
	return fmt.Sprintf("%s %s %s [flags]", rc.noun, sub, args)
}

func (rc recordCmd) list(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet(rc.noun+" list", rc.synopsis("list", ""))
	af := e.addAdminFlags(fs)
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	c, err := e.connect(af)
	if err != nil {
		return err
	}
	b, err := c.call(ctx, "GET", "/admin/"+rc.plural, nil)
	if err != nil {
		return err
	}
	if af.json {
		return printJSON(e.stdout, b)
	}
	return rc.table(e, b)
}

func (rc recordCmd) get(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet(rc.noun+" get", rc.synopsis("get", strings.ToUpper(rc.key)))
	af := e.addAdminFlags(fs)
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 1)
	}
	if err != nil {
		return err
	}
	c, err := e.connect(af)
	if err != nil {
		return err
	}
	b, err := c.call(ctx, "GET", rc.path(pos[0]), nil)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, b)
}

func (rc recordCmd) remove(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet(rc.noun+" delete", rc.synopsis("delete", strings.ToUpper(rc.key)))
	af := e.addAdminFlags(fs)
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 1)
	}
	if err != nil {
		return err
	}
	c, err := e.connect(af)
	if err != nil {
		return err
	}
	b, err := c.call(ctx, "DELETE", rc.path(pos[0]), nil)
	if err != nil {
		return err
	}
	if af.json || len(b) > 0 {
		return printJSON(e.stdout, b)
	}
	fmt.Fprintf(e.stdout, "deleted %s %s\n", rc.noun, pos[0])
	return nil
}

// writeFlags are the flags of create and update.
type writeFlags struct {
	af     *adminFlags
	file   string
	fields fieldSet
}

func (rc recordCmd) writeFlagSet(e *cli, sub, args string) (*flag.FlagSet, *writeFlags) {
	fs := e.newFlagSet(rc.noun+" "+sub, rc.synopsis(sub, args))
	wf := &writeFlags{af: e.addAdminFlags(fs)}
	fs.StringVar(&wf.file, "f", "", "JSON or YAML file holding the whole "+rc.noun+" (flags then override its fields)")
	wf.fields = registerFields(fs, rc.fields)
	return fs, wf
}

// body builds a request body from -f (if given) and the field flags,
// with the key set from key (if not empty).
func (rc recordCmd) body(fs *flag.FlagSet, wf *writeFlags, base map[string]any, key string) ([]byte, error) {
	body := base
	if wf.file != "" {
		b, err := readInput(wf.file)
		if err != nil {
			return nil, err
		}
		body = map[string]any{}
		if err := json.Unmarshal(b, &body); err != nil {
			return nil, fmt.Errorf("%s: want a single %s object: %w", wf.file, rc.noun, err)
		}
	}
	if body == nil {
		body = map[string]any{}
	}
	if key != "" {
		if k, ok := body[rc.key]; ok && k != key {
			return nil, fmt.Errorf("%s %v in the input does not match %q", rc.key, k, key)
		}
		body[rc.key] = key
	}
	wf.fields.apply(fs, body)
	delete(body, "created_at")
	delete(body, "updated_at")
	return json.Marshal(body)
}

func (rc recordCmd) create(ctx context.Context, e *cli, args []string) error {
	fs, wf := rc.writeFlagSet(e, "create", "["+strings.ToUpper(rc.key)+"]")
	pos, err := parse(fs, args)
	if err == nil && len(pos) > 1 {
		err = wantArgs(fs, pos, 1)
	}
	if err != nil {
		return err
	}
	key := ""
	if len(pos) == 1 {
		key = pos[0]
	}
	body, err := rc.body(fs, wf, nil, key)
	if err != nil {
		return err
	}
	c, err := e.connect(wf.af)
	if err != nil {
		return err
	}
	b, err := c.call(ctx, "POST", "/admin/"+rc.plural, body)
	if err != nil {
		return err
	}
	if strings.Contains(string(b), `"client_secret"`) {
		fmt.Fprintln(e.stderr, "note: client_secret is shown only this once; store it now")
	}
	return printJSON(e.stdout, b)
}

// update replaces a record. With -f the file is the whole new record;
// otherwise the current record is fetched and the flags change it.
func (rc recordCmd) update(ctx context.Context, e *cli, args []string) error {
	fs, wf := rc.writeFlagSet(e, "update", strings.ToUpper(rc.key))
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 1)
	}
	if err != nil {
		return err
	}
	c, err := e.connect(wf.af)
	if err != nil {
		return err
	}
	var current map[string]any
	if wf.file == "" {
		if len(setFlags(fs)) == 0 {
			return errors.New("nothing to change: give -f FILE or field flags")
		}
		if err := c.callJSON(ctx, "GET", rc.path(pos[0]), nil, &current); err != nil {
			return err
		}
	}
	body, err := rc.body(fs, wf, current, pos[0])
	if err != nil {
		return err
	}
	b, err := c.call(ctx, "PUT", rc.path(pos[0]), body)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, b)
}

// crud returns the list, get, create, update and delete commands.
func (rc recordCmd) crud() []command {
	k := strings.ToUpper(rc.key)
	return []command{
		{"list", "", "list every " + rc.noun, rc.list},
		{"get", k, "print one " + rc.noun + " as JSON", rc.get},
		{"create", "[" + k + "] [-f FILE] [flags]", "create a " + rc.noun + " from a JSON/YAML file and/or flags", rc.create},
		{"update", k + " [-f FILE] [flags]", "replace a " + rc.noun + " with a file, or change the fields given as flags", rc.update},
		{"delete", k, "delete a " + rc.noun, rc.remove},
	}
}

// queryPath addresses a record on its collection path, which carries any
// key, even one with "//" (a URL) that path cleaning would collapse.
func queryPath(plural, param string) func(string) string {
	return func(key string) string {
		return "/admin/" + plural + "?" + url.Values{param: {key}}.Encode()
	}
}

// newTable returns a tab-aligned writer on stdout.
func (e *cli) newTable() *tabwriter.Writer {
	return tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
}

var resourceFields = []field{
	{"sensitivity", "sensitivity", "1 (routine read) to 4 (secrets, credentials, admin)", fInt},
	{"tenant", "tenant", "tenant the resource belongs to", fString},
	{"tactic", "tactic", "what calling it usually means: discovery, collection, credential_access, ...", fString},
	{"max-ttl", "max_ttl", "cap on token lifetimes for this audience, e.g. 10m", fString},
}

func resourceCommands() []command {
	rc := recordCmd{noun: "resource", plural: "resources", key: "audience",
		path: queryPath("resources", "audience"), table: resourceTable,
		fields: resourceFields}
	return rc.crud()
}

func resourceTable(e *cli, b []byte) error {
	var ans resourceList
	if err := json.Unmarshal(b, &ans); err != nil {
		return err
	}
	tw := e.newTable()
	fmt.Fprintln(tw, "AUDIENCE\tSENSITIVITY\tTENANT\tTACTIC")
	for _, r := range ans.Resources {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Audience, r.Sensitivity, dash(r.Tenant), dash(r.Tactic))
	}
	return tw.Flush()
}

var issuerFields = []field{
	{"jwks-uri", "jwks_uri", "https URL of the issuer's JWK Set", fString},
	{"audience", "audience", "audience its tokens must carry", fString},
	{"algorithms", "algorithms", "accepted signature algorithms", fList},
	{"scopes", "scopes", "scopes its tokens may be exchanged for", fList},
	{"audiences", "audiences", "audiences its tokens may be exchanged for", fList},
}

func issuerCommands() []command {
	rc := recordCmd{noun: "issuer", plural: "issuers", key: "issuer",
		path: queryPath("issuers", "issuer"), table: issuerTable,
		fields: issuerFields}
	return rc.crud()
}

func issuerTable(e *cli, b []byte) error {
	var ans issuerList
	if err := json.Unmarshal(b, &ans); err != nil {
		return err
	}
	tw := e.newTable()
	fmt.Fprintln(tw, "ISSUER\tAUDIENCE\tSUBJECTS")
	for _, is := range ans.Issuers {
		var subs []string
		for _, s := range is.Subjects {
			subs = append(subs, s.Subject+" -> "+s.ClientID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", is.Issuer, is.Audience, strings.Join(subs, ", "))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
