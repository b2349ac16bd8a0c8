package localcluster

import (
	"fmt"
	"path/filepath"
	"strconv"
)

const (
	// serviceCIDR is small because nothing here allocates many Services;
	// its first address (serviceIP) is the "kubernetes" Service.
	serviceCIDR = "10.0.0.0/24"
	serviceIP   = "10.0.0.1"
	saIssuer    = "https://kubernetes.default.svc"
	// etcdQuota is etcd's own default (2 GiB), set explicitly so a test that
	// floods the cluster fails with "mvcc: database space exceeded" at a
	// known size rather than filling the disk.
	etcdQuota = 2 << 30
)

// layout is where one cluster keeps its files inside DataDir.
type layout struct {
	dataDir string
}

func (l layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.dataDir}, elem...)...)
}
func (l layout) etcdDir() string         { return l.path("etcd") }
func (l layout) pkiDir() string          { return l.path("pki") }
func (l layout) apiserverDir() string    { return l.path("apiserver") }
func (l layout) logDir() string          { return l.path("logs") }
func (l layout) pidsFile() string        { return l.path("pids") }
func (l layout) adminKubeconfig() string { return l.path("admin.kubeconfig") }
func (l layout) kcmKubeconfig() string   { return l.path("kube-controller-manager.kubeconfig") }

// generated lists everything Start creates, so a new Start can wipe the
// previous cluster without touching unrelated files in DataDir.
func (l layout) generated() []string {
	return []string{l.etcdDir(), l.pkiDir(), l.apiserverDir(), l.logDir(), l.pidsFile(),
		l.adminKubeconfig(), l.kcmKubeconfig()}
}

// ports are the loopback TCP ports of one cluster.
type ports struct {
	etcdClient, etcdPeer, apiserver int
}

func loopbackURL(scheme string, port int) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
}

func etcdArgs(l layout, p ports) []string {
	client, peer := loopbackURL("http", p.etcdClient), loopbackURL("http", p.etcdPeer)
	return []string{
		"--name=" + contextName,
		"--data-dir=" + l.etcdDir(),
		// Plain HTTP on loopback: only local processes can reach it, and TLS
		// would cost startup time for no protection on a throwaway cluster.
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=" + contextName + "=" + peer,
		"--initial-cluster-state=new",
		"--initial-cluster-token=" + contextName,
		// The data is thrown away with the cluster, so durability buys
		// nothing, and fsync latency dominates apiserver writes on CI disks.
		"--unsafe-no-fsync=true",
		"--quota-backend-bytes=" + strconv.Itoa(etcdQuota),
		"--log-level=warn",
	}
}

func apiserverArgs(l layout, p ports, pki pkiPaths) []string {
	return []string{
		"--etcd-servers=" + loopbackURL("http", p.etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(p.apiserver),
		"--cert-dir=" + l.apiserverDir(),
		"--tls-cert-file=" + pki.servingCert,
		"--tls-private-key-file=" + pki.servingKey,
		"--client-ca-file=" + pki.clientCA,
		"--service-account-issuer=" + saIssuer,
		"--service-account-key-file=" + pki.saPub,
		"--service-account-signing-key-file=" + pki.saKey,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--allow-privileged=true",
		// Tests hammer the apiserver from many goroutines; the defaults
		// (400/200) and priority-and-fairness queueing only add latency here.
		"--max-requests-inflight=2000",
		"--max-mutating-requests-inflight=1000",
		"--enable-priority-and-fairness=false",
		// 127.0.0.1 is not a valid Endpoints address, so the default
		// reconciler would log an error every few seconds; nothing runs in
		// the cluster that needs the "kubernetes" Service's endpoints.
		"--endpoint-reconciler-type=none",
		// Without it a SIGTERM'd apiserver closes its listener at once but
		// then waits (past stopGrace) for the controller manager's watches
		// to end on their own; with it, it ends them and exits in a second.
		"--shutdown-watch-termination-grace-period=2s",
	}
}

func kcmArgs(l layout, pki pkiPaths) []string {
	return []string{
		"--kubeconfig=" + l.kcmKubeconfig(),
		// Only what API behaviour depends on; anything touching nodes,
		// volumes or clouds would just log errors without a kubelet.
		"--controllers=serviceaccount-token-controller,serviceaccount-controller,namespace-controller," +
			"garbage-collector-controller,resourcequota-controller,clusterrole-aggregation-controller",
		"--service-account-private-key-file=" + pki.saKey,
		"--root-ca-file=" + pki.serverCA,
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		// No serving endpoint: nothing scrapes it, and it would need another
		// port and delegated authn against the apiserver.
		"--secure-port=0",
		// The defaults (20/30) make namespace deletion and garbage collection
		// visibly slow in tests that create many objects.
		"--kube-api-qps=100",
		"--kube-api-burst=200",
	}
}
