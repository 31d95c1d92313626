package esdbemulator

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
)

// featuresServer tells the client which methods the emulator serves.
type featuresServer struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

func (featuresServer) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: ServerVersion,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: svc, MethodName: "read"},
			{ServiceName: svc, MethodName: "append"},
		},
	}, nil
}

// streamsServer serves the streams service over a store.
type streamsServer struct {
	streams.UnimplementedStreamsServer
	store *store
}

// Append takes the options, then the events, and answers once the client
// has sent them all, as EventStoreDB does.
func (s *streamsServer) Append(as streams.Streams_AppendServer) error {
	first, err := as.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "the first append message must carry the options")
	}
	exp, err := expectedOf(opts)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	var events []proposed
	for {
		req, err := as.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		e, err := proposedOf(req.GetProposedMessage())
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		events = append(events, e)
	}
	out, err := s.store.append(string(opts.GetStreamIdentifier().GetStreamName()), exp, events)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if out.wrong {
		return as.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{
			WrongExpectedVersion: wrongExpected(exp, out),
		}})
	}
	ok := &streams.AppendResp_Success{
		PositionOption: &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{
			CommitPosition: out.position, PreparePosition: out.position,
		}},
	}
	if out.noStream {
		ok.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
		ok.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	} else {
		ok.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: out.current}
	}
	return as.SendAndClose(&streams.AppendResp{Result: &streams.AppendResp_Success_{Success: ok}})
}

func expectedOf(opts *streams.AppendReq_Options) (Expected, error) {
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Revision:
		return Expected{Kind: ExpectRevision, Revision: v.Revision}, nil
	case *streams.AppendReq_Options_NoStream:
		return Expected{Kind: ExpectNoStream}, nil
	case *streams.AppendReq_Options_StreamExists:
		return Expected{Kind: ExpectStreamExists}, nil
	case *streams.AppendReq_Options_Any:
		return Expected{Kind: ExpectAny}, nil
	default:
		return Expected{}, errors.New("append options carry no expected revision")
	}
}

// proposedOf checks one proposed event the way the server does: an id, and
// the type and content type in the system metadata.
func proposedOf(m *streams.AppendReq_ProposedMessage) (proposed, error) {
	if m == nil {
		return proposed{}, errors.New("append message is neither options nor an event")
	}
	id, err := uuidOf(m.GetId())
	if err != nil {
		return proposed{}, err
	}
	typ, ok := m.GetMetadata()["type"]
	if !ok || typ == "" {
		return proposed{}, fmt.Errorf("event %s has no type", id)
	}
	ct := m.GetMetadata()["content-type"]
	if ct != "application/json" && ct != "application/octet-stream" {
		return proposed{}, fmt.Errorf("event %s: content type %q", id, ct)
	}
	return proposed{id: id, typ: typ, contentType: ct, data: m.GetData(), meta: m.GetCustomMetadata()}, nil
}

func uuidOf(u *shared.UUID) (uuid.UUID, error) {
	if s := u.GetStructured(); s != nil {
		var b [16]byte
		for i := range 8 {
			b[i] = byte(uint64(s.MostSignificantBits) >> (56 - 8*i))
			b[8+i] = byte(uint64(s.LeastSignificantBits) >> (56 - 8*i))
		}
		return uuid.UUID(b), nil
	}
	if u.GetString_() != "" {
		return uuid.Parse(u.GetString_())
	}
	return uuid.Nil, errors.New("event has no id")
}

func uuidProto(id uuid.UUID) *shared.UUID {
	var most, least uint64
	for i := range 8 {
		most = most<<8 | uint64(id[i])
		least = least<<8 | uint64(id[8+i])
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: int64(most), LeastSignificantBits: int64(least),
	}}}
}

// wrongExpected is the server's wrong-expected-version answer, in both the
// current fields and those of servers before 20.6 that old clients read.
func wrongExpected(exp Expected, out outcome) *streams.AppendResp_WrongExpectedVersion {
	w := &streams.AppendResp_WrongExpectedVersion{}
	if out.noStream {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: out.current}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: out.current}
	}
	switch exp.Kind {
	case ExpectRevision:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: exp.Revision}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: exp.Revision}
	case ExpectNoStream:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case ExpectStreamExists:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	}
	return w
}
