// Command kube-controller-manager runs the core control loops (an example binary for kbuild).
package main

import "k8s.io/example/pkg/cli"

func main() {
	cli.Main("kube-controller-manager", "runs the core control loops")
}
