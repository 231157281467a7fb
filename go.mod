module github.com/vmoments/vmoments

go 1.26

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/spf13/cobra v1.10.2 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sys v0.28.0 // indirect
	libvirt.org/go/libvirt v1.9000.0 // indirect
	libvirt.org/go/libvirtxml v1.12008.0 // indirect
)
