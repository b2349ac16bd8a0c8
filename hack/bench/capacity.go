package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// The "server capacity" client: what docs/baselines.md measured at ~1,100
// objects/s on this machine kind.
const (
	capacityWorkers = 32
	capacityQPS     = 1000
	capacityBurst   = 2000
)

// object is one rendered object, decoded into its client-go type.
type object struct {
	gvk       schema.GroupVersionKind
	namespace string
	obj       runtime.Object
	yaml      []byte // the document as rendered
}

// perTenant reports whether o belongs to one tenant: its namespace or an
// object in it. The rest (the rolebinding admission policy and its binding)
// is cluster-wide, the same in every render, and created by bulkhead's run.
func (o object) perTenant() bool { return o.namespace != "" || o.gvk.Kind == "Namespace" }

// writeObjects writes the per-tenant objects of objs as multi-document YAML
// and returns how many it wrote.
func writeObjects(path string, objs []object) (int, error) {
	var buf bytes.Buffer
	n := 0
	for _, o := range objs {
		if !o.perTenant() {
			continue
		}
		if n > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(o.yaml)
		if !bytes.HasSuffix(o.yaml, []byte("\n")) {
			buf.WriteByte('\n')
		}
		n++
	}
	return n, os.WriteFile(path, buf.Bytes(), 0o644)
}

// readObjects decodes the multi-document YAML `bulkhead render` prints.
func readObjects(path string) ([]object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	dec := scheme.Codecs.UniversalDeserializer()
	var out []object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, gvk, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, len(out)+1, err)
		}
		acc, err := meta.Accessor(obj)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, len(out)+1, err)
		}
		out = append(out, object{gvk: *gvk, namespace: acc.GetNamespace(), obj: obj, yaml: doc})
	}
}

// serverCapacity creates objs with plain POSTs — no reads, no apply, no
// diff — from 32 workers at QPS 1000 in protobuf: namespaces first, then the
// rest, as bulkhead does. Only per-tenant objects: the cluster-wide ones
// already exist. It returns the wall time and how many objects it created.
func serverCapacity(ctx context.Context, cfg *rest.Config, objs []object) (time.Duration, int, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cfg.QPS, cfg.Burst = capacityQPS, capacityBurst
	cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(capacityQPS, capacityBurst) // one limit for every group
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return 0, 0, err
	}
	clients := map[schema.GroupVersion]*rest.RESTClient{}
	var namespaces, rest []createReq
	for _, o := range objs {
		if !o.perTenant() {
			continue
		}
		gv := o.gvk.GroupVersion()
		c, ok := clients[gv]
		if !ok {
			if c, err = restClient(cfg, httpClient, gv); err != nil {
				return 0, 0, err
			}
			clients[gv] = c
		}
		plural, _ := meta.UnsafeGuessKindToResource(o.gvk)
		req := createReq{client: c, resource: plural.Resource, object: o}
		if o.gvk.Kind == "Namespace" {
			namespaces = append(namespaces, req)
		} else {
			rest = append(rest, req)
		}
	}
	start := time.Now()
	for _, batch := range [][]createReq{namespaces, rest} {
		if err := createAll(ctx, batch); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(start), len(namespaces) + len(rest), nil
}

func restClient(cfg *rest.Config, httpClient *http.Client, gv schema.GroupVersion) (*rest.RESTClient, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &gv
	c.APIPath = "/apis"
	if gv.Group == "" {
		c.APIPath = "/api"
	}
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return rest.RESTClientForConfigAndClient(c, httpClient)
}

type createReq struct {
	client   *rest.RESTClient
	resource string
	object
}

// createAll POSTs reqs from capacityWorkers goroutines; the first error
// stops the rest.
func createAll(ctx context.Context, reqs []createReq) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan createReq)
	var wg sync.WaitGroup
	for range capacityWorkers {
		wg.Go(func() {
			for r := range work {
				err := r.client.Post().
					NamespaceIfScoped(r.namespace, r.namespace != "").
					Resource(r.resource).
					Body(r.obj).
					Do(ctx).Error()
				if err != nil {
					cancel(fmt.Errorf("create %s %s/%s: %w", r.gvk.Kind, r.namespace, name(r.obj), err))
				}
			}
		})
	}
feed:
	for _, r := range reqs {
		select {
		case work <- r:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return context.Cause(ctx)
}

func name(obj runtime.Object) string {
	if acc, err := meta.Accessor(obj); err == nil {
		return acc.GetName()
	}
	return "?"
}
