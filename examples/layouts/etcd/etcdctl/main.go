// Command etcdctl stands in for the project's binary of that name (an example for kbuild's layouts).
package main

import (
	"fmt"

	"go.etcd.io/etcd/version"
)

func main() {
	fmt.Println("etcdctl", version.Version, version.Revision)
}
