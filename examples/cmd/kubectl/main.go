// Command kubectl controls the Kubernetes cluster (an example binary for kbuild).
package main

import "k8s.io/example/pkg/cli"

func main() {
	cli.Main("kubectl", "controls the Kubernetes cluster")
}
