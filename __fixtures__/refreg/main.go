// refreg: a registry with the OCI 1.1 referrers API, for the tests.
//
// Debian's docker-registry (distribution 2.8) has no referrers API, so clients
// fall back to the `sha256-<hex>` tag schema there. The tests need the other
// kind too: this is go-containerregistry's in-memory registry (pkg/registry)
// with its referrers support on, answering as the distribution spec 1.1 says
// where that handler does not:
//   - a descriptor's artifactType is the manifest's artifactType, else its
//     config's media type, and it carries the manifest's annotations;
//   - `?artifactType=` filters, and says so in OCI-Filters-Applied;
//   - a manifest put with a subject is answered with OCI-Subject;
//   - an unknown repository or subject has an empty list, never a 404.
//
// Built by scripts/lib/go-tools.mjs from this folder (its module's
// dependencies come from the Go module proxy). It prints `listening on
// HOST:PORT` once it serves; `-address 127.0.0.1:0` takes a free port.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
)

type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type manifest struct {
	ArtifactType string `json:"artifactType"`
	Config       struct {
		MediaType string `json:"mediaType"`
	} `json:"config"`
	Subject     *descriptor       `json:"subject"`
	Annotations map[string]string `json:"annotations"`
}

func main() {
	address := flag.String("address", "127.0.0.1:0", "where to listen")
	flag.Parse()
	inner := registry.New(
		registry.WithReferrersSupport(true),
		registry.Logger(log.New(io.Discard, "", 0)),
	)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/")
		n := len(parts)
		switch {
		case r.Method == http.MethodGet && n >= 5 && parts[n-2] == "referrers":
			referrers(inner, w, r, strings.Join(parts[:n-2], "/"))
		case r.Method == http.MethodPut && n >= 5 && parts[n-2] == "manifests":
			putManifest(inner, w, r)
		default:
			inner.ServeHTTP(w, r)
		}
	})
	listener, err := net.Listen("tcp", *address)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "listening on %s\n", listener.Addr())
	log.Fatal(http.Serve(listener, handler))
}

func pass(w http.ResponseWriter, recorded *httptest.ResponseRecorder) {
	for key, values := range recorded.Header() {
		w.Header()[key] = values
	}
	w.WriteHeader(recorded.Code)
	_, _ = w.Write(recorded.Body.Bytes())
}

func putManifest(inner http.Handler, w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	recorded := httptest.NewRecorder()
	inner.ServeHTTP(recorded, r)
	var m manifest
	if recorded.Code == http.StatusCreated && json.Unmarshal(body, &m) == nil && m.Subject != nil {
		w.Header().Set("OCI-Subject", m.Subject.Digest)
	}
	pass(w, recorded)
}

func referrers(inner http.Handler, w http.ResponseWriter, r *http.Request, repository string) {
	recorded := httptest.NewRecorder()
	inner.ServeHTTP(recorded, r)
	list := index{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json"}
	// The spec: a registry with the API never answers 404 here (an unknown repository or
	// subject has no referrers), so clients can tell it from one without the API.
	if recorded.Code != http.StatusNotFound &&
		(recorded.Code != http.StatusOK || json.Unmarshal(recorded.Body.Bytes(), &list) != nil) {
		pass(w, recorded)
		return
	}
	filter := r.URL.Query().Get("artifactType")
	kept := []descriptor{}
	for _, d := range list.Manifests {
		read := httptest.NewRecorder()
		inner.ServeHTTP(read, httptest.NewRequest(http.MethodGet, repository+"/manifests/"+d.Digest, nil))
		var m manifest
		if read.Code == http.StatusOK && json.Unmarshal(read.Body.Bytes(), &m) == nil {
			d.ArtifactType = m.ArtifactType
			if d.ArtifactType == "" {
				d.ArtifactType = m.Config.MediaType
			}
			d.Annotations = m.Annotations
		}
		if filter == "" || d.ArtifactType == filter {
			kept = append(kept, d)
		}
	}
	list.Manifests = kept
	body, _ := json.Marshal(list)
	w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
