// Command kube-proxy programs the node's service proxy rules (an example binary for kbuild).
package main

import "k8s.io/example/pkg/cli"

func main() {
	cli.Main("kube-proxy", "programs the node's service proxy rules")
}
