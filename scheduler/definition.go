package scheduler

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// maxDefinition bounds the workflow file: Kubernetes objects are limited
// to about 1.5 MiB anyway, and a larger file is a mistake.
const maxDefinition = 1 << 20

// parseDefinition decodes the project's workflow file: exactly one
// Workflow (argoproj.io/v1alpha1), with no unknown fields.
func parseDefinition(data []byte) (*wfv1.Workflow, error) {
	if data == nil {
		return nil, &DefinitionError{Kind: KindMissing, Message: "the workflow definition file does not exist at the speculative state"}
	}
	if len(data) > maxDefinition {
		return nil, &DefinitionError{Kind: KindYAML, Message: fmt.Sprintf("the workflow definition is %d bytes; at most %d are allowed", len(data), maxDefinition)}
	}
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, &DefinitionError{Kind: KindYAML, Message: "the workflow definition is not valid YAML: " + err.Error()}
	}
	if len(docs) != 1 {
		return nil, &DefinitionError{Kind: KindYAML, Message: fmt.Sprintf("the workflow definition must hold exactly one Workflow; it holds %d YAML documents", len(docs))}
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(docs[0], &head); err != nil {
		return nil, &DefinitionError{Kind: KindYAML, Message: "the workflow definition is not valid YAML: " + err.Error()}
	}
	if head.Kind != "Workflow" || head.APIVersion != "argoproj.io/v1alpha1" {
		return nil, &DefinitionError{Kind: KindYAML, Message: fmt.Sprintf("the workflow definition must be an argoproj.io/v1alpha1 Workflow (to use a template installed by the administrators, set spec.workflowTemplateRef); it is a %q of %q", head.Kind, head.APIVersion)}
	}
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(docs[0], &wf); err != nil {
		return nil, &DefinitionError{Kind: KindYAML, Message: "the workflow definition does not match Argo's Workflow schema: " + err.Error()}
	}
	if wf.Status.Phase != "" || len(wf.Status.Nodes) > 0 {
		return nil, &DefinitionError{Kind: KindYAML, Message: "the workflow definition must not have a status"}
	}
	return &wf, nil
}

// splitDocuments returns the YAML documents of data that are not empty
// (or only comments), as JSON.
func splitDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if string(j) == "null" {
			continue
		}
		docs = append(docs, j)
	}
}
