package httpapi

// AppendTimeSeries is appendTimeSeries, for the encoding test.
var AppendTimeSeries = appendTimeSeries
