package main

import (
	"errors"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"libvirt.org/go/libvirt"
)

// momentXML returns a moment's XML as virsh would get it. virsh asks through its read-write
// connection (unless -r), and libvirt refuses the security-sensitive parts (--security-info) on
// a read-only one: "operation forbidden: virDomainSnapshotGetXMLDesc with secure flag". Drivers
// read through read-only connections, so when that refusal comes back and the user did not ask
// for -r, the XML is fetched once more through a read-write connection, as virsh fetches it.
func (a *app) momentXML(dom driver.Domain, kind conf.Kind, name string, flags driver.XMLFlags) (string, error) {
	xml, err := dom.XML(a.ctx, kind, name, flags)
	var lerr libvirt.Error
	if err == nil || a.g.readonly || flags&driver.XMLSecure == 0 || !errors.As(err, &lerr) ||
		lerr.Code != libvirt.ERR_OPERATION_DENIED {
		return xml, err
	}
	conn, cerr := libvirt.NewConnect(a.drv.URI())
	if cerr != nil {
		return "", err
	}
	defer conn.Close()
	d, derr := conn.LookupDomainByUUIDString(dom.UUID())
	if derr != nil {
		return "", err
	}
	defer d.Free()
	if kind == conf.Snapshot {
		s, serr := d.SnapshotLookupByName(name, 0)
		if serr != nil {
			return "", serr
		}
		defer s.Free()
		return s.GetXMLDesc(libvirt.DomainSnapshotXMLFlags(flags))
	}
	c, cerr2 := d.CheckpointLookupByName(name, 0)
	if cerr2 != nil {
		return "", cerr2
	}
	defer c.Free()
	return c.GetXMLDesc(libvirt.DomainCheckpointXMLFlags(flags))
}
