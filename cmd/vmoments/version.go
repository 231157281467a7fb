package main

const version = "vmoments (virsh 9.0 compatible list commands)"
