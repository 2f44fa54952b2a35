// Command containerd-shim-runc-v1 stands in for the project's binary of that name (an example for kbuild's layouts).
package main

import (
	"fmt"

	"github.com/containerd/containerd/version"
)

func main() {
	fmt.Println("containerd-shim-runc-v1", version.Version, version.Revision)
}
