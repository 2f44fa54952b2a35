// Command kubelet runs pods on a node (an example binary for kbuild).
package main

import "k8s.io/example/pkg/cli"

func main() {
	cli.Main("kubelet", "runs pods on a node")
}
