package access

// standardTable is what a Kubernetes 1.34 API server with default flags
// serves, read from its discovery (TestAgainstAPIServer/discovery keeps it
// honest), plus what only authorizers know: the impersonation targets, CSR
// signers, kubelet subresources behind nodes/proxy's siblings, and the
// bind/escalate/impersonate verbs. Those are marked "virtual" or listed in
// authorizationOnlyVerbs; discovery never shows them, yet "*" covers them.
//
// Columns: group ("core" for ""), resource[/subresource], scope, verbs
// (crud = create,delete,deletecollection,get,list,patch,update,watch;
// gpu = get,patch,update), and an optional "virtual".
const standardTable = `
admissionregistration.k8s.io   mutatingwebhookconfigurations         cluster  crud
admissionregistration.k8s.io   validatingadmissionpolicies           cluster  crud
admissionregistration.k8s.io   validatingadmissionpolicies/status    cluster  gpu
admissionregistration.k8s.io   validatingadmissionpolicybindings     cluster  crud
admissionregistration.k8s.io   validatingwebhookconfigurations       cluster  crud
apiextensions.k8s.io           customresourcedefinitions             cluster  crud
apiextensions.k8s.io           customresourcedefinitions/status      cluster  gpu
apiregistration.k8s.io         apiservices                           cluster  crud
apiregistration.k8s.io         apiservices/status                    cluster  gpu
apps                           controllerrevisions                   ns       crud
apps                           daemonsets                            ns       crud
apps                           daemonsets/status                     ns       gpu
apps                           deployments                           ns       crud
apps                           deployments/scale                     ns       gpu
apps                           deployments/status                    ns       gpu
apps                           replicasets                           ns       crud
apps                           replicasets/scale                     ns       gpu
apps                           replicasets/status                    ns       gpu
apps                           statefulsets                          ns       crud
apps                           statefulsets/scale                    ns       gpu
apps                           statefulsets/status                   ns       gpu
authentication.k8s.io          selfsubjectreviews                    cluster  create
authentication.k8s.io          tokenreviews                          cluster  create
authorization.k8s.io           localsubjectaccessreviews             ns       create
authorization.k8s.io           selfsubjectaccessreviews              cluster  create
authorization.k8s.io           selfsubjectrulesreviews               cluster  create
authorization.k8s.io           subjectaccessreviews                  cluster  create
autoscaling                    horizontalpodautoscalers              ns       crud
autoscaling                    horizontalpodautoscalers/status       ns       gpu
batch                          cronjobs                              ns       crud
batch                          cronjobs/status                       ns       gpu
batch                          jobs                                  ns       crud
batch                          jobs/status                           ns       gpu
certificates.k8s.io            certificatesigningrequests            cluster  crud
certificates.k8s.io            certificatesigningrequests/approval   cluster  gpu
certificates.k8s.io            certificatesigningrequests/status     cluster  gpu
coordination.k8s.io            leases                                ns       crud
core                           bindings                              ns       create
core                           componentstatuses                     cluster  get,list
core                           configmaps                            ns       crud
core                           endpoints                             ns       crud
core                           events                                ns       crud
core                           limitranges                           ns       crud
core                           namespaces                            cluster  create,delete,get,list,patch,update,watch
core                           namespaces/finalize                   cluster  update
core                           namespaces/status                     cluster  gpu
core                           nodes                                 cluster  crud
core                           nodes/proxy                           cluster  create,delete,get,patch,update
core                           nodes/status                          cluster  gpu
core                           persistentvolumeclaims                ns       crud
core                           persistentvolumeclaims/status         ns       gpu
core                           persistentvolumes                     cluster  crud
core                           persistentvolumes/status              cluster  gpu
core                           pods                                  ns       crud
core                           pods/attach                           ns       create,get
core                           pods/binding                          ns       create
core                           pods/ephemeralcontainers              ns       gpu
core                           pods/eviction                         ns       create
core                           pods/exec                             ns       create,get
core                           pods/log                              ns       get
core                           pods/portforward                      ns       create,get
core                           pods/proxy                            ns       create,delete,get,patch,update
core                           pods/resize                           ns       gpu
core                           pods/status                           ns       gpu
core                           podtemplates                          ns       crud
core                           replicationcontrollers                ns       crud
core                           replicationcontrollers/scale          ns       gpu
core                           replicationcontrollers/status         ns       gpu
core                           resourcequotas                        ns       crud
core                           resourcequotas/status                 ns       gpu
core                           secrets                               ns       crud
core                           serviceaccounts                       ns       crud,impersonate
core                           serviceaccounts/token                 ns       create
core                           services                              ns       crud
core                           services/proxy                        ns       create,delete,get,patch,update
core                           services/status                       ns       gpu
discovery.k8s.io               endpointslices                        ns       crud
events.k8s.io                  events                                ns       crud
flowcontrol.apiserver.k8s.io   flowschemas                           cluster  crud
flowcontrol.apiserver.k8s.io   flowschemas/status                    cluster  gpu
flowcontrol.apiserver.k8s.io   prioritylevelconfigurations           cluster  crud
flowcontrol.apiserver.k8s.io   prioritylevelconfigurations/status    cluster  gpu
networking.k8s.io              ingressclasses                        cluster  crud
networking.k8s.io              ingresses                             ns       crud
networking.k8s.io              ingresses/status                      ns       gpu
networking.k8s.io              ipaddresses                           cluster  crud
networking.k8s.io              networkpolicies                       ns       crud
networking.k8s.io              servicecidrs                          cluster  crud
networking.k8s.io              servicecidrs/status                   cluster  gpu
node.k8s.io                    runtimeclasses                        cluster  crud
policy                         poddisruptionbudgets                  ns       crud
policy                         poddisruptionbudgets/status           ns       gpu
rbac.authorization.k8s.io      clusterrolebindings                   cluster  crud
rbac.authorization.k8s.io      clusterroles                          cluster  crud,bind,escalate
rbac.authorization.k8s.io      rolebindings                          ns       crud
rbac.authorization.k8s.io      roles                                 ns       crud,bind,escalate
resource.k8s.io                deviceclasses                         cluster  crud
resource.k8s.io                resourceclaims                        ns       crud
resource.k8s.io                resourceclaims/status                 ns       gpu
resource.k8s.io                resourceclaimtemplates                ns       crud
resource.k8s.io                resourceslices                        cluster  crud
scheduling.k8s.io              priorityclasses                       cluster  crud
storage.k8s.io                 csidrivers                            cluster  crud
storage.k8s.io                 csinodes                              cluster  crud
storage.k8s.io                 csistoragecapacities                  ns       crud
storage.k8s.io                 storageclasses                        cluster  crud
storage.k8s.io                 volumeattachments                     cluster  crud
storage.k8s.io                 volumeattachments/status              cluster  gpu
storage.k8s.io                 volumeattributesclasses               cluster  crud
core                           users                                 cluster  impersonate                     virtual
core                           groups                                cluster  impersonate                     virtual
authentication.k8s.io          uids                                  cluster  impersonate                     virtual
authentication.k8s.io          userextras                            cluster  impersonate                     virtual
certificates.k8s.io            signers                               cluster  approve,sign                    virtual
core                           nodes/checkpoint                      cluster  create,delete,get,patch,update  virtual
core                           nodes/configz                         cluster  create,delete,get,patch,update  virtual
core                           nodes/healthz                         cluster  create,delete,get,patch,update  virtual
core                           nodes/log                             cluster  create,delete,get,patch,update  virtual
core                           nodes/metrics                         cluster  create,delete,get,patch,update  virtual
core                           nodes/pods                            cluster  create,delete,get,patch,update  virtual
core                           nodes/spec                            cluster  create,delete,get,patch,update  virtual
core                           nodes/stats                           cluster  create,delete,get,patch,update  virtual
`

// authorizationOnlyVerbs are verbs RBAC rules use that no API endpoint
// serves: the API server checks them itself (bind, escalate on roles,
// impersonate on identities, approve and sign on CSR signers).
func authorizationOnlyVerbs() []string {
	return []string{"approve", "bind", "escalate", "impersonate", "sign"}
}
