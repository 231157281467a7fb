// Package memory is a pure-Go, in-memory vmoments driver for the tests of programs that use
// package driver, as netlink's nltest is for netlink: no libvirt, no cgo, no daemon. It builds
// and runs with CGO_ENABLED=0.
//
// A [Server] plays libvirtd: it holds domains and their snapshots and checkpoints, and every
// connection to it ([Server.Open], or [driver.Open] of its URI) sees the same state, as clients
// of one libvirtd do. Changes follow libvirt's rules, through momentlist (the same code the
// libvirt-backed drivers apply to their loaded lists): a created moment becomes current under
// the previous current one; a redefinition becomes current with SnapshotCreateCurrent
// (snapshots) or by libvirt's rule (checkpoints: its parent is current, or there is none);
// revert and set-current move the current snapshot; deletes plain, with children, children
// only and metadata only end as libvirt's do. Errors read as libvirt's and carry the classes of
// package driver: "no domain snapshot with matching name 's1'" ([driver.ErrMomentNotFound]),
// [driver.ErrDomainNotFound], [driver.ErrReadOnly] on a connection opened read-only,
// [driver.ErrClosed], the context's error. The moments' XML is libvirt's layout and parses back
// with package conf.
//
// A connection's domain handles behave as the libvirt-backed drivers' do: each handle loads its
// lists once (fetching every moment's XML, reported to a [driver.ProgressFunc]) and refreshes
// them on every later read, fetching only new moments; changes made through another handle or
// connection are seen at the next read, and libvirt's hidden current checkpoint is followed as
// those drivers follow it. The conformance suite (package drivertest) runs on this driver with
// its results compared, step by step, with libvirt's test driver running the same scenarios.
//
// # Use in a test
//
//	srv, err := memory.New(memory.Config{Domains: []memory.DomainConfig{
//		{Name: "web", Disks: []string{"vda", "vdb"}},
//		{Name: "db", State: driver.DomainShutoff},
//	}})
//	if err != nil {
//		t.Fatal(err)
//	}
//	t.Cleanup(srv.Close)
//	drv, err := driver.Open(ctx, srv.URI(), driver.ReadWrite) // or srv.Open(driver.ReadWrite)
//
// [NodeFile] reads a node file of libvirt's test driver (the file test:///ABS/PATH.xml
// preloads, such as examples/demo.xml), so the same state can be given to both drivers; the URI
// memory:///ABS/PATH.xml opens a fresh copy of one, and memory:///default a state like
// test:///default's (one running domain "test"), shared while a connection to it is open.
//
// # What it does not model
//
// Disks hold no data and guests run nothing: a snapshot or checkpoint records the disks of the
// domain's definition, a revert restores the definition and the run state the snapshot names,
// and nothing fails for want of disk space, a guest agent or QEMU's capabilities. The refusals
// that come from disk work are not modelled either (QEMU's "deletion of external disk snapshots
// with children not supported", a checkpoint bitmap missing for REDEFINE_VALIDATE); a driver
// with [Config.Capabilities] set refuses the flags it lacks as libvirt's drivers do ("unsupported
// flags (0x10) in function memoryDomainSnapshotCreateXML"), and without MixedKinds or
// InactiveCheckpoints the test driver's interlocks. XML is checked with package conf's parser,
// which refuses a few things libvirt lets through (state, parent or creationTime with bad values
// in a new snapshot's XML, which libvirt ignores), and libvirt's schema messages for checkpoint
// names are conf's own words.
package memory

import (
	"context"
	"crypto/sha1"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

func init() {
	driver.Register(open, "memory")
}

// Config describes a [Server].
type Config struct {
	// Name makes the server's URI memory:///NAME; "" picks a unique one. Two servers cannot
	// share a name.
	Name string
	// Domains are the server's domains.
	Domains []DomainConfig
	// Capabilities are the flags and combinations the server accepts (and its drivers
	// declare); nil accepts every flag, keeps snapshots and checkpoints side by side and
	// redefines checkpoints on a domain that does not run, as libvirt's QEMU driver does.
	Capabilities *driver.Capabilities
	// Versions are what Driver.Versions reports; the zero value reports 9.0.0 for both, the
	// libvirt whose behaviour the driver follows.
	Versions driver.Versions
}

// DomainConfig is one domain of a [Server].
type DomainConfig struct {
	// Name is the domain's name; "" takes the name of XML.
	Name string
	// UUID is the domain's UUID; "" takes that of XML, or one derived from the name.
	UUID string
	// State is the domain's run state. The zero value (driver.DomainNoState) means
	// driver.DomainRunning, as a test driver domain without <test:runstate>. Domains not shut
	// off get numeric IDs 1, 2, ... in order.
	State driver.DomainState
	// Disks are the targets of the domain's disks ("vda"); nil takes those of XML, or one disk
	// vda when XML is empty.
	Disks []string
	// XML is the domain's definition (<domain>...</domain>), embedded into the moments created
	// on it; "" makes a small one from Name, UUID and Disks.
	XML string
	// Snapshots are snapshot XML documents to preload, with libvirt's redefinition rules
	// (name, state and creationTime required); parents must be among them. The current
	// snapshot is CurrentSnapshot, else the one with <active>1</active>.
	Snapshots       []string
	CurrentSnapshot string
	// Checkpoints are checkpoint XML documents to preload (name and creationTime required).
	// The current checkpoint follows libvirt's load rule: the leaf of a single unbranched
	// chain, or none.
	Checkpoints []string
}

// Server is an in-memory libvirtd: domains and their moments, shared by every connection.
// It is safe for concurrent use.
type Server struct {
	name     string
	uri      string
	caps     driver.Capabilities
	versions driver.Versions
	// release, if set, is called when a connection closes (memory:///default counts them).
	release func()

	mu     sync.Mutex
	vms    []*vm
	nextID int
}

// vm is one domain of a server, as libvirt keeps it.
type vm struct {
	name, uuid string
	id         int // -1 when not running
	state      driver.DomainState
	def        string // the domain definition, embedded into new moments
	disks      []disk
	// lists are libvirt's moment lists, indexed by conf.Kind: their current checkpoint is
	// libvirt's internal pointer. Definitions in them are never changed in place except by
	// momentlist (a plain delete rewrites children's parents); the XML is formatted from them
	// on every request.
	lists [3]*momentlist.List
}

type disk struct {
	target, source string
}

var (
	registryMu sync.Mutex
	registry   = map[string]*Server{}
	serverSeq  int
)

// defaultCapabilities are libvirt's QEMU driver's: every flag, both kinds side by side,
// checkpoints redefined on a domain that does not run.
var defaultCapabilities = driver.Capabilities{
	SnapshotCreate:      ^driver.SnapshotCreateFlags(0),
	SnapshotDelete:      ^driver.DeleteFlags(0),
	SnapshotRevert:      ^driver.RevertFlags(0),
	CheckpointCreate:    ^driver.CheckpointCreateFlags(0),
	CheckpointDelete:    ^driver.DeleteFlags(0),
	MixedKinds:          true,
	InactiveCheckpoints: true,
}

// New makes a server from cfg and registers its URI (memory:///NAME) with driver.Open until
// [Server.Close].
func New(cfg Config) (*Server, error) {
	s, err := build(cfg)
	if err != nil {
		return nil, err
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if s.name == "" {
		for {
			serverSeq++
			s.name = fmt.Sprintf("server-%d", serverSeq)
			if registry[s.name] == nil {
				break
			}
		}
	}
	if registry[s.name] != nil {
		return nil, fmt.Errorf("memory: a server named %q exists already", s.name)
	}
	if s.name == "default" || strings.HasSuffix(s.name, ".xml") || strings.ContainsAny(s.name, "/?#%") {
		return nil, fmt.Errorf("memory: the server name %q is not one path element of memory:///NAME (nor default, nor *.xml)", s.name)
	}
	s.uri = "memory:///" + s.name
	registry[s.name] = s
	return s, nil
}

// build makes a server from cfg without registering it.
func build(cfg Config) (*Server, error) {
	s := &Server{name: cfg.Name, caps: defaultCapabilities, versions: cfg.Versions, nextID: 1}
	if cfg.Capabilities != nil {
		s.caps = *cfg.Capabilities
	}
	if s.versions.Library == "" {
		s.versions.Library = "9.0.0"
	}
	if s.versions.Daemon == "" {
		s.versions.Daemon = s.versions.Library
	}
	for i, dc := range cfg.Domains {
		v, err := s.newVM(dc)
		if err != nil {
			return nil, fmt.Errorf("memory: domain %d (%q): %w", i, dc.Name, err)
		}
		for _, o := range s.vms {
			if o.name == v.name || o.uuid == v.uuid {
				return nil, fmt.Errorf("memory: two domains named %q or with UUID %s", v.name, v.uuid)
			}
		}
		s.vms = append(s.vms, v)
	}
	return s, nil
}

// URI is the server's URI, memory:///NAME, which driver.Open accepts until Close.
func (s *Server) URI() string { return s.uri }

// Close unregisters the server's URI. Connections already open keep working.
func (s *Server) Close() {
	registryMu.Lock()
	defer registryMu.Unlock()
	if registry[s.name] == s {
		delete(registry, s.name)
	}
}

// Open opens a connection to the server (driver.ReadOnly refuses every change).
func (s *Server) Open(mode driver.Mode) driver.Driver {
	return &conn{srv: s, uri: s.uri, readOnly: mode.ReadOnly()}
}

// open is the driver.OpenFunc of the "memory" scheme: memory:///default (a state like
// test:///default's, shared while one of its connections is open), memory:///ABS/PATH.xml (a
// fresh copy of a test driver node file per connection), memory:///NAME (a [Server] made by
// New).
func open(ctx context.Context, uri string, mode driver.Mode) (driver.Driver, error) {
	if err := ctx.Err(); err != nil {
		return nil, &driver.Error{URI: uri, Err: err}
	}
	u, err := url.Parse(uri)
	if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		return nil, &driver.Error{URI: uri, Class: driver.ErrConnection,
			Msg: fmt.Sprintf("invalid memory URI %q: want memory:///default, memory:///NAME or memory:///ABS/PATH.xml", uri)}
	}
	path := u.Path
	switch {
	case path == "/default":
		return openDefault(uri, mode), nil
	case strings.HasSuffix(path, ".xml"):
		doms, err := NodeFile(path)
		if err != nil {
			return nil, &driver.Error{URI: uri, Class: driver.ErrConnection, Msg: err.Error(), Err: err}
		}
		s, err := build(Config{Domains: doms})
		if err != nil {
			return nil, &driver.Error{URI: uri, Class: driver.ErrConnection, Msg: err.Error(), Err: err}
		}
		s.uri = uri
		return s.Open(mode), nil
	}
	registryMu.Lock()
	s := registry[strings.TrimPrefix(path, "/")]
	registryMu.Unlock()
	if s == nil {
		return nil, &driver.Error{URI: uri, Class: driver.ErrConnection,
			Msg: fmt.Sprintf("no memory server named %q (make one with memory.New)", strings.TrimPrefix(path, "/"))}
	}
	return s.Open(mode), nil
}

// The state of memory:///default lives while one of its connections is open, as libvirt's
// test:///default does.
var (
	defaultMu    sync.Mutex
	defaultSrv   *Server
	defaultConns int
)

// DefaultDomainXML is the definition of test:///default's domain "test", which
// memory:///default serves too.
const defaultDomainXML = `<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>`

// DefaultDomain is the domain of memory:///default: test:///default's "test" (running, one
// disk vda), for a Server that starts where libvirt's test driver does.
func DefaultDomain() DomainConfig {
	return DomainConfig{XML: defaultDomainXML}
}

func openDefault(uri string, mode driver.Mode) driver.Driver {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultSrv == nil {
		s, err := build(Config{Domains: []DomainConfig{DefaultDomain()}})
		if err != nil {
			panic("memory: the default domain: " + err.Error())
		}
		s.uri = uri
		s.release = func() {
			defaultMu.Lock()
			defer defaultMu.Unlock()
			if defaultConns--; defaultConns == 0 {
				defaultSrv = nil
			}
		}
		defaultSrv = s
	}
	defaultConns++
	return defaultSrv.Open(mode)
}

// newVM makes a domain from its config, with its preloaded moments.
func (s *Server) newVM(dc DomainConfig) (*vm, error) {
	v := &vm{name: dc.Name, uuid: strings.ToLower(dc.UUID), state: dc.State, id: -1, def: dc.XML}
	if v.state == driver.DomainNoState {
		v.state = driver.DomainRunning
	}
	if dc.XML != "" {
		info, err := parseDomainXML(dc.XML)
		if err != nil {
			return nil, err
		}
		if v.name == "" {
			v.name = info.name
		}
		if v.uuid == "" {
			v.uuid = strings.ToLower(info.uuid)
		}
		v.disks = info.disks
	}
	if v.name == "" {
		return nil, fmt.Errorf("a domain needs a name")
	}
	if v.uuid == "" {
		v.uuid = uuidOf(v.name)
	}
	if dc.Disks != nil {
		v.disks = v.disks[:0]
		for _, d := range dc.Disks {
			v.disks = append(v.disks, disk{target: d, source: fmt.Sprintf("/var/lib/libvirt/images/%s-%s.qcow2", v.name, d)})
		}
	} else if dc.XML == "" {
		v.disks = []disk{{target: "vda", source: fmt.Sprintf("/var/lib/libvirt/images/%s-vda.qcow2", v.name)}}
	}
	if v.def == "" {
		v.def = makeDomainXML(v)
	}
	if v.state != driver.DomainShutoff {
		v.id = s.nextID
		s.nextID++
	}
	for _, kind := range conf.Kinds {
		v.lists[kind] = momentlist.New(kind)
	}
	if err := v.preload(conf.Snapshot, dc.Snapshots, dc.CurrentSnapshot); err != nil {
		return nil, err
	}
	if err := v.preload(conf.Checkpoint, dc.Checkpoints, ""); err != nil {
		return nil, err
	}
	return v, nil
}

// preload loads moments of kind from XML documents, as libvirtd loads its files.
func (v *vm) preload(kind conf.Kind, docs []string, current string) error {
	defs := make([]*conf.Def, 0, len(docs))
	for i, x := range docs {
		def, err := conf.Parse([]byte(x), conf.ParseRedefine)
		if err != nil {
			return fmt.Errorf("%s %d: %w", kind, i, err)
		}
		if def.Kind != kind {
			return fmt.Errorf("%s %d is a %s", kind, i, def.Kind)
		}
		if kind == conf.Snapshot && current == "" && def.Active != nil && *def.Active {
			current = def.Name
		}
		def.Active = nil
		defs = append(defs, def)
	}
	if err := v.lists[kind].Load(defs, current); err != nil {
		title := "Snapshots"
		if kind == conf.Checkpoint {
			title = "Checkpoints"
		}
		return fmt.Errorf("%s have inconsistent relations for domain %s: %w", title, v.name, err)
	}
	return nil
}

// uuidOf derives a stable UUID from a name (a version-5 style UUID of its SHA-1).
func uuidOf(name string) string {
	h := sha1.Sum([]byte("vmoments memory domain " + name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// makeDomainXML is a small definition of v.
func makeDomainXML(v *vm) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<domain type='test'>\n  <name>%s</name>\n  <uuid>%s</uuid>\n  <memory unit='KiB'>1048576</memory>\n  <vcpu>1</vcpu>\n", escape(v.name), v.uuid)
	b.WriteString("  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n  <devices>\n")
	for _, d := range v.disks {
		fmt.Fprintf(&b, "    <disk type='file' device='disk'>\n      <source file='%s'/>\n      <target dev='%s' bus='virtio'/>\n    </disk>\n",
			escape(d.source), escape(d.target))
	}
	b.WriteString("  </devices>\n</domain>")
	return b.String()
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", `"`, "&quot;").Replace(s)
}

// info returns v's DomainInfo; s.mu must be held.
func (v *vm) info() driver.DomainInfo {
	return driver.DomainInfo{Name: v.name, UUID: v.uuid, ID: v.id, State: v.state}
}

// domains lists the server's domains sorted by name.
func (s *Server) domains() []driver.DomainInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]driver.DomainInfo, 0, len(s.vms))
	for _, v := range s.vms {
		out = append(out, v.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// byUUID returns the domain with uuid; s.mu must be held.
func (s *Server) byUUID(uuid string) *vm {
	for _, v := range s.vms {
		if v.uuid == uuid {
			return v
		}
	}
	return nil
}
