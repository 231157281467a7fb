package conf_test

import (
	"errors"
	"fmt"

	"github.com/vmoments/vmoments/conf"
)

// A snapshot document as virsh snapshot-dumpxml prints it (its <domain> shortened).
const snapshotXML = `<domainsnapshot>
  <name>before-upgrade</name>
  <state>disk-snapshot</state>
  <parent>
    <name>installed</name>
  </parent>
  <creationTime>1700000000</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='external' type='file'>
      <driver type='qcow2'/>
      <source file='/var/lib/libvirt/images/web01.before-upgrade'/>
    </disk>
    <disk name='vdb' snapshot='no'/>
  </disks>
  <domain type='kvm'>
    <name>web01</name>
  </domain>
</domainsnapshot>`

func ExampleParseSnapshot() {
	d, err := conf.ParseSnapshot([]byte(snapshotXML), conf.ParseRedefine)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Name, "child of", d.Parent, "at", d.Created.Format("2006-01-02 15:04:05"))
	fmt.Println("status:", d.Status(), "location:", d.Location(), "covers:", d.CoveredDisks())

	// A redefinition must say when the snapshot was made: libvirt's message, and the element.
	_, err = conf.ParseSnapshot([]byte(`<domainsnapshot><name>s</name><state>running</state></domainsnapshot>`), conf.ParseRedefine)
	var perr *conf.ParseError
	if errors.As(err, &perr) {
		fmt.Printf("%v (element %s)\n", err, perr.Element)
	}
	// Output:
	// before-upgrade child of installed at 2023-11-14 22:13:20
	// status: disk-only location: external covers: [vda]
	// missing creationTime from existing snapshot (element creationTime)
}

func ExampleParseFast() {
	d, err := conf.ParseFast(conf.Snapshot, []byte(snapshotXML))
	if err != nil {
		fmt.Println(err)
		return
	}
	full, err := d.FullSnapshot() // parsed now, from the kept XML
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Name, "of domain", full.Domain.Name)
	// Output: before-upgrade of domain web01
}

func ExampleValidateName() {
	for _, name := range []string{"nightly 2024-01-01", ".hidden", "a/b"} {
		fmt.Printf("%q: %v\n", name, conf.ValidateName(conf.Snapshot, name))
	}
	fmt.Println(conf.ValidateName(conf.Checkpoint, "nightly 2024-01-01"))
	// Output:
	// "nightly 2024-01-01": <nil>
	// ".hidden": invalid snapshot name '.hidden': name can't start with '.'
	// "a/b": invalid snapshot name 'a/b': name can't contain '/'
	// invalid checkpoint name 'nightly 2024-01-01': character ' ' is not allowed: libvirt accepts only ASCII letters, digits, '_', '-' and '.' (not first) in checkpoint names
}
