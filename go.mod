module github.com/vmoments/vmoments

go 1.26

require (
	github.com/klauspost/compress v1.18.0
	github.com/mattn/go-isatty v0.0.24
	libvirt.org/go/libvirt v1.9000.0
	libvirt.org/go/libvirtxml v1.12008.0
)

require golang.org/x/sys v0.28.0 // indirect
