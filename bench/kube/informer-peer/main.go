// informer-peer: the client-go side of bench/kube/run, doing what kube_bench does.
//
//	informer-peer informer SELECTOR   a SharedInformerFactory Secrets informer over all namespaces with the
//	                                  label selector (managedFields stripped, as ours does); prints
//	                                  "synced <seconds since start> objects <n> rss_before <KiB>
//	                                  rss_synced <KiB> file <KiB> anon <KiB>" (VmRSS with the clientset
//	                                  made but the informer not started, and at synced; then the RSS at
//	                                  synced split into file-backed and anonymous pages), watches 2 s
//	                                  more, exits
//	informer-peer watch-connections INFORMERS REQUESTS
//	                                  INFORMERS informers of one SharedInformerFactory (over six resource
//	                                  types, in turn) and REQUESTS list requests on one clientset; prints
//	                                  "ready" once all synced and the requests are done, then keeps
//	                                  watching 3 s (bench/kube/run counts its connections meanwhile)
//	informer-peer workqueue KEYS WORKERS
//	                                  KEYS keys through client-go's rate-limiting workqueue and WORKERS
//	                                  goroutines with an empty reconcile; prints "keys <n> seconds <s> keys_per_s <r>"
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
)

// procKiB: a "Name:  <n> kB" field of a /proc/self file, in KiB, or -1
func procKiB(file, field string) int64 {
	f, err := os.Open(file)
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// clientset: the clientset for $KUBECONFIG
func clientset() (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

func informer(selector string, start time.Time) error {
	cs, err := clientset()
	if err != nil {
		return err
	}
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	inf := f.Core().V1().Secrets().Informer()
	// drop managedFields as our informer does, so both hold the same data
	if err := inf.SetTransform(func(obj interface{}) (interface{}, error) {
		if a, err := meta.Accessor(obj); err == nil {
			a.SetManagedFields(nil)
		}
		return obj, nil
	}); err != nil {
		return err
	}
	rssBefore := procKiB("/proc/self/status", "VmRSS")
	stop := make(chan struct{})
	f.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		return fmt.Errorf("the informer did not sync")
	}
	synced := time.Since(start).Seconds()
	n := len(inf.GetStore().ListKeys())
	rssSynced := procKiB("/proc/self/status", "VmRSS")
	anon := procKiB("/proc/self/smaps_rollup", "Anonymous")
	rss := procKiB("/proc/self/smaps_rollup", "Rss")
	fmt.Printf("synced %.3f objects %d rss_before %d rss_synced %d file %d anon %d\n", synced, n, rssBefore,
		rssSynced, rss-anon, anon)
	time.Sleep(2 * time.Second)
	close(stop)
	return nil
}

func watchConnections(n, requests int) error {
	cs, err := clientset()
	if err != nil {
		return err
	}
	f := informers.NewSharedInformerFactory(cs, 0)
	kinds := []func() cache.SharedIndexInformer{
		func() cache.SharedIndexInformer { return f.Core().V1().ConfigMaps().Informer() },
		func() cache.SharedIndexInformer { return f.Core().V1().Secrets().Informer() },
		func() cache.SharedIndexInformer { return f.Core().V1().ServiceAccounts().Informer() },
		func() cache.SharedIndexInformer { return f.Core().V1().Namespaces().Informer() },
		func() cache.SharedIndexInformer { return f.Coordination().V1().Leases().Informer() },
		func() cache.SharedIndexInformer { return f.Events().V1().Events().Informer() },
	}
	var synced []cache.InformerSynced
	for i := 0; i < n && i < len(kinds); i++ {
		synced = append(synced, kinds[i]().HasSynced)
	}
	stop := make(chan struct{})
	f.Start(stop)
	if !cache.WaitForCacheSync(stop, synced...) {
		return fmt.Errorf("the informers did not sync")
	}
	for i := 0; i < requests; i++ {
		if _, err := cs.CoreV1().ConfigMaps("").List(context.Background(), metav1.ListOptions{Limit: 1}); err != nil {
			return err
		}
	}
	time.Sleep(time.Second)
	fmt.Println("ready")
	time.Sleep(3 * time.Second)
	close(stop)
	return nil
}

func queue(keys, workers int) {
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, shutdown := q.Get()
				if shutdown {
					return
				}
				q.Forget(k)
				q.Done(k)
				done.Add(1)
			}
		}()
	}
	t0 := time.Now()
	for i := 0; i < keys; i++ {
		q.Add(fmt.Sprintf("app-%d-platform/secret-%d", i%100, i))
	}
	for done.Load() < int64(keys) {
		time.Sleep(100 * time.Microsecond)
	}
	took := time.Since(t0).Seconds()
	q.ShutDown()
	wg.Wait()
	fmt.Printf("keys %d seconds %.4f keys_per_s %.0f\n", keys, took, float64(keys)/took)
}

func main() {
	start := time.Now()
	if len(os.Args) == 3 && os.Args[1] == "informer" {
		if err := informer(os.Args[2], start); err != nil {
			fmt.Fprintln(os.Stderr, "informer-peer:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "watch-connections" {
		n, _ := strconv.Atoi(os.Args[2])
		requests, _ := strconv.Atoi(os.Args[3])
		if err := watchConnections(n, requests); err != nil {
			fmt.Fprintln(os.Stderr, "informer-peer:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 4 && os.Args[1] == "workqueue" {
		keys, _ := strconv.Atoi(os.Args[2])
		workers, _ := strconv.Atoi(os.Args[3])
		queue(keys, workers)
		return
	}
	fmt.Fprintln(os.Stderr, "usage: informer-peer informer SELECTOR | informer-peer watch-connections INFORMERS REQUESTS | "+
		"informer-peer workqueue KEYS WORKERS")
	os.Exit(2)
}
