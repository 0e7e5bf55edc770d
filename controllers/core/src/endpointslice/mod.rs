//! The EndpointSlice controller's plan: upstream's `staging/src/k8s.io/endpointslice`
//! reconciler as a pure function (to be written).
