#include "textflag.h"

DATA ·geluConst+0(SB)/4, $0x3f000000
DATA ·geluConst+4(SB)/4, $0x3f000000
DATA ·geluConst+8(SB)/4, $0x3f000000
DATA ·geluConst+12(SB)/4, $0x3f000000
DATA ·geluConst+16(SB)/4, $0x3f000000
DATA ·geluConst+20(SB)/4, $0x3f000000
DATA ·geluConst+24(SB)/4, $0x3f000000
DATA ·geluConst+28(SB)/4, $0x3f000000
DATA ·geluConst+32(SB)/4, $0x3f3504f3
DATA ·geluConst+36(SB)/4, $0x3f3504f3
DATA ·geluConst+40(SB)/4, $0x3f3504f3
DATA ·geluConst+44(SB)/4, $0x3f3504f3
DATA ·geluConst+48(SB)/4, $0x3f3504f3
DATA ·geluConst+52(SB)/4, $0x3f3504f3
DATA ·geluConst+56(SB)/4, $0x3f3504f3
DATA ·geluConst+60(SB)/4, $0x3f3504f3
DATA ·geluConst+64(SB)/4, $0xc0800000
DATA ·geluConst+68(SB)/4, $0xc0800000
DATA ·geluConst+72(SB)/4, $0xc0800000
DATA ·geluConst+76(SB)/4, $0xc0800000
DATA ·geluConst+80(SB)/4, $0xc0800000
DATA ·geluConst+84(SB)/4, $0xc0800000
DATA ·geluConst+88(SB)/4, $0xc0800000
DATA ·geluConst+92(SB)/4, $0xc0800000
DATA ·geluConst+96(SB)/4, $0x40800000
DATA ·geluConst+100(SB)/4, $0x40800000
DATA ·geluConst+104(SB)/4, $0x40800000
DATA ·geluConst+108(SB)/4, $0x40800000
DATA ·geluConst+112(SB)/4, $0x40800000
DATA ·geluConst+116(SB)/4, $0x40800000
DATA ·geluConst+120(SB)/4, $0x40800000
DATA ·geluConst+124(SB)/4, $0x40800000
DATA ·geluConst+128(SB)/4, $0xaf95df0b
DATA ·geluConst+132(SB)/4, $0xaf95df0b
DATA ·geluConst+136(SB)/4, $0xaf95df0b
DATA ·geluConst+140(SB)/4, $0xaf95df0b
DATA ·geluConst+144(SB)/4, $0xaf95df0b
DATA ·geluConst+148(SB)/4, $0xaf95df0b
DATA ·geluConst+152(SB)/4, $0xaf95df0b
DATA ·geluConst+156(SB)/4, $0xaf95df0b
DATA ·geluConst+160(SB)/4, $0x32edffee
DATA ·geluConst+164(SB)/4, $0x32edffee
DATA ·geluConst+168(SB)/4, $0x32edffee
DATA ·geluConst+172(SB)/4, $0x32edffee
DATA ·geluConst+176(SB)/4, $0x32edffee
DATA ·geluConst+180(SB)/4, $0x32edffee
DATA ·geluConst+184(SB)/4, $0x32edffee
DATA ·geluConst+188(SB)/4, $0x32edffee
DATA ·geluConst+192(SB)/4, $0xb60cff51
DATA ·geluConst+196(SB)/4, $0xb60cff51
DATA ·geluConst+200(SB)/4, $0xb60cff51
DATA ·geluConst+204(SB)/4, $0xb60cff51
DATA ·geluConst+208(SB)/4, $0xb60cff51
DATA ·geluConst+212(SB)/4, $0xb60cff51
DATA ·geluConst+216(SB)/4, $0xb60cff51
DATA ·geluConst+220(SB)/4, $0xb60cff51
DATA ·geluConst+224(SB)/4, $0xb86ec2d2
DATA ·geluConst+228(SB)/4, $0xb86ec2d2
DATA ·geluConst+232(SB)/4, $0xb86ec2d2
DATA ·geluConst+236(SB)/4, $0xb86ec2d2
DATA ·geluConst+240(SB)/4, $0xb86ec2d2
DATA ·geluConst+244(SB)/4, $0xb86ec2d2
DATA ·geluConst+248(SB)/4, $0xb86ec2d2
DATA ·geluConst+252(SB)/4, $0xb86ec2d2
DATA ·geluConst+256(SB)/4, $0xba40ac63
DATA ·geluConst+260(SB)/4, $0xba40ac63
DATA ·geluConst+264(SB)/4, $0xba40ac63
DATA ·geluConst+268(SB)/4, $0xba40ac63
DATA ·geluConst+272(SB)/4, $0xba40ac63
DATA ·geluConst+276(SB)/4, $0xba40ac63
DATA ·geluConst+280(SB)/4, $0xba40ac63
DATA ·geluConst+284(SB)/4, $0xba40ac63
DATA ·geluConst+288(SB)/4, $0xbb41a1f6
DATA ·geluConst+292(SB)/4, $0xbb41a1f6
DATA ·geluConst+296(SB)/4, $0xbb41a1f6
DATA ·geluConst+300(SB)/4, $0xbb41a1f6
DATA ·geluConst+304(SB)/4, $0xbb41a1f6
DATA ·geluConst+308(SB)/4, $0xbb41a1f6
DATA ·geluConst+312(SB)/4, $0xbb41a1f6
DATA ·geluConst+316(SB)/4, $0xbb41a1f6
DATA ·geluConst+320(SB)/4, $0xbc83dbd4
DATA ·geluConst+324(SB)/4, $0xbc83dbd4
DATA ·geluConst+328(SB)/4, $0xbc83dbd4
DATA ·geluConst+332(SB)/4, $0xbc83dbd4
DATA ·geluConst+336(SB)/4, $0xbc83dbd4
DATA ·geluConst+340(SB)/4, $0xbc83dbd4
DATA ·geluConst+344(SB)/4, $0xbc83dbd4
DATA ·geluConst+348(SB)/4, $0xbc83dbd4
DATA ·geluConst+352(SB)/4, $0xb77460cd
DATA ·geluConst+356(SB)/4, $0xb77460cd
DATA ·geluConst+360(SB)/4, $0xb77460cd
DATA ·geluConst+364(SB)/4, $0xb77460cd
DATA ·geluConst+368(SB)/4, $0xb77460cd
DATA ·geluConst+372(SB)/4, $0xb77460cd
DATA ·geluConst+376(SB)/4, $0xb77460cd
DATA ·geluConst+380(SB)/4, $0xb77460cd
DATA ·geluConst+384(SB)/4, $0xb95fbd29
DATA ·geluConst+388(SB)/4, $0xb95fbd29
DATA ·geluConst+392(SB)/4, $0xb95fbd29
DATA ·geluConst+396(SB)/4, $0xb95fbd29
DATA ·geluConst+400(SB)/4, $0xb95fbd29
DATA ·geluConst+404(SB)/4, $0xb95fbd29
DATA ·geluConst+408(SB)/4, $0xb95fbd29
DATA ·geluConst+412(SB)/4, $0xb95fbd29
DATA ·geluConst+416(SB)/4, $0xbadc924e
DATA ·geluConst+420(SB)/4, $0xbadc924e
DATA ·geluConst+424(SB)/4, $0xbadc924e
DATA ·geluConst+428(SB)/4, $0xbadc924e
DATA ·geluConst+432(SB)/4, $0xbadc924e
DATA ·geluConst+436(SB)/4, $0xbadc924e
DATA ·geluConst+440(SB)/4, $0xbadc924e
DATA ·geluConst+444(SB)/4, $0xbadc924e
DATA ·geluConst+448(SB)/4, $0xbbf19bf8
DATA ·geluConst+452(SB)/4, $0xbbf19bf8
DATA ·geluConst+456(SB)/4, $0xbbf19bf8
DATA ·geluConst+460(SB)/4, $0xbbf19bf8
DATA ·geluConst+464(SB)/4, $0xbbf19bf8
DATA ·geluConst+468(SB)/4, $0xbbf19bf8
DATA ·geluConst+472(SB)/4, $0xbbf19bf8
DATA ·geluConst+476(SB)/4, $0xbbf19bf8
DATA ·geluConst+480(SB)/4, $0xbc69b6a7
DATA ·geluConst+484(SB)/4, $0xbc69b6a7
DATA ·geluConst+488(SB)/4, $0xbc69b6a7
DATA ·geluConst+492(SB)/4, $0xbc69b6a7
DATA ·geluConst+496(SB)/4, $0xbc69b6a7
DATA ·geluConst+500(SB)/4, $0xbc69b6a7
DATA ·geluConst+504(SB)/4, $0xbc69b6a7
DATA ·geluConst+508(SB)/4, $0xbc69b6a7
GLOBL ·geluConst(SB), RODATA|NOPTR, $512

DATA ·expsConst+0(SB)/4, $0xc2aeac50
DATA ·expsConst+4(SB)/4, $0xc2aeac50
DATA ·expsConst+8(SB)/4, $0xc2aeac50
DATA ·expsConst+12(SB)/4, $0xc2aeac50
DATA ·expsConst+16(SB)/4, $0xc2aeac50
DATA ·expsConst+20(SB)/4, $0xc2aeac50
DATA ·expsConst+24(SB)/4, $0xc2aeac50
DATA ·expsConst+28(SB)/4, $0xc2aeac50
DATA ·expsConst+32(SB)/4, $0x3fb8aa3b
DATA ·expsConst+36(SB)/4, $0x3fb8aa3b
DATA ·expsConst+40(SB)/4, $0x3fb8aa3b
DATA ·expsConst+44(SB)/4, $0x3fb8aa3b
DATA ·expsConst+48(SB)/4, $0x3fb8aa3b
DATA ·expsConst+52(SB)/4, $0x3fb8aa3b
DATA ·expsConst+56(SB)/4, $0x3fb8aa3b
DATA ·expsConst+60(SB)/4, $0x3fb8aa3b
DATA ·expsConst+64(SB)/4, $0x3f000000
DATA ·expsConst+68(SB)/4, $0x3f000000
DATA ·expsConst+72(SB)/4, $0x3f000000
DATA ·expsConst+76(SB)/4, $0x3f000000
DATA ·expsConst+80(SB)/4, $0x3f000000
DATA ·expsConst+84(SB)/4, $0x3f000000
DATA ·expsConst+88(SB)/4, $0x3f000000
DATA ·expsConst+92(SB)/4, $0x3f000000
DATA ·expsConst+96(SB)/4, $0x3f318000
DATA ·expsConst+100(SB)/4, $0x3f318000
DATA ·expsConst+104(SB)/4, $0x3f318000
DATA ·expsConst+108(SB)/4, $0x3f318000
DATA ·expsConst+112(SB)/4, $0x3f318000
DATA ·expsConst+116(SB)/4, $0x3f318000
DATA ·expsConst+120(SB)/4, $0x3f318000
DATA ·expsConst+124(SB)/4, $0x3f318000
DATA ·expsConst+128(SB)/4, $0xb95e8083
DATA ·expsConst+132(SB)/4, $0xb95e8083
DATA ·expsConst+136(SB)/4, $0xb95e8083
DATA ·expsConst+140(SB)/4, $0xb95e8083
DATA ·expsConst+144(SB)/4, $0xb95e8083
DATA ·expsConst+148(SB)/4, $0xb95e8083
DATA ·expsConst+152(SB)/4, $0xb95e8083
DATA ·expsConst+156(SB)/4, $0xb95e8083
DATA ·expsConst+160(SB)/4, $0x39506967
DATA ·expsConst+164(SB)/4, $0x39506967
DATA ·expsConst+168(SB)/4, $0x39506967
DATA ·expsConst+172(SB)/4, $0x39506967
DATA ·expsConst+176(SB)/4, $0x39506967
DATA ·expsConst+180(SB)/4, $0x39506967
DATA ·expsConst+184(SB)/4, $0x39506967
DATA ·expsConst+188(SB)/4, $0x39506967
DATA ·expsConst+192(SB)/4, $0x3ab743ce
DATA ·expsConst+196(SB)/4, $0x3ab743ce
DATA ·expsConst+200(SB)/4, $0x3ab743ce
DATA ·expsConst+204(SB)/4, $0x3ab743ce
DATA ·expsConst+208(SB)/4, $0x3ab743ce
DATA ·expsConst+212(SB)/4, $0x3ab743ce
DATA ·expsConst+216(SB)/4, $0x3ab743ce
DATA ·expsConst+220(SB)/4, $0x3ab743ce
DATA ·expsConst+224(SB)/4, $0x3c088908
DATA ·expsConst+228(SB)/4, $0x3c088908
DATA ·expsConst+232(SB)/4, $0x3c088908
DATA ·expsConst+236(SB)/4, $0x3c088908
DATA ·expsConst+240(SB)/4, $0x3c088908
DATA ·expsConst+244(SB)/4, $0x3c088908
DATA ·expsConst+248(SB)/4, $0x3c088908
DATA ·expsConst+252(SB)/4, $0x3c088908
DATA ·expsConst+256(SB)/4, $0x3d2aa9c1
DATA ·expsConst+260(SB)/4, $0x3d2aa9c1
DATA ·expsConst+264(SB)/4, $0x3d2aa9c1
DATA ·expsConst+268(SB)/4, $0x3d2aa9c1
DATA ·expsConst+272(SB)/4, $0x3d2aa9c1
DATA ·expsConst+276(SB)/4, $0x3d2aa9c1
DATA ·expsConst+280(SB)/4, $0x3d2aa9c1
DATA ·expsConst+284(SB)/4, $0x3d2aa9c1
DATA ·expsConst+288(SB)/4, $0x3e2aaaaa
DATA ·expsConst+292(SB)/4, $0x3e2aaaaa
DATA ·expsConst+296(SB)/4, $0x3e2aaaaa
DATA ·expsConst+300(SB)/4, $0x3e2aaaaa
DATA ·expsConst+304(SB)/4, $0x3e2aaaaa
DATA ·expsConst+308(SB)/4, $0x3e2aaaaa
DATA ·expsConst+312(SB)/4, $0x3e2aaaaa
DATA ·expsConst+316(SB)/4, $0x3e2aaaaa
DATA ·expsConst+320(SB)/4, $0x3f000000
DATA ·expsConst+324(SB)/4, $0x3f000000
DATA ·expsConst+328(SB)/4, $0x3f000000
DATA ·expsConst+332(SB)/4, $0x3f000000
DATA ·expsConst+336(SB)/4, $0x3f000000
DATA ·expsConst+340(SB)/4, $0x3f000000
DATA ·expsConst+344(SB)/4, $0x3f000000
DATA ·expsConst+348(SB)/4, $0x3f000000
DATA ·expsConst+352(SB)/4, $0x3f800000
DATA ·expsConst+356(SB)/4, $0x3f800000
DATA ·expsConst+360(SB)/4, $0x3f800000
DATA ·expsConst+364(SB)/4, $0x3f800000
DATA ·expsConst+368(SB)/4, $0x3f800000
DATA ·expsConst+372(SB)/4, $0x3f800000
DATA ·expsConst+376(SB)/4, $0x3f800000
DATA ·expsConst+380(SB)/4, $0x3f800000
GLOBL ·expsConst(SB), RODATA|NOPTR, $384

// func geluErfAVX2(x *float32, n int)
//
// x[i] = x[i]/2·(1+erf(x[i]/√2)) for i < n, n a multiple of 8, with erf the
// rational approximation of Erf32.
TEXT ·geluErfAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS ·geluConst+0(SB), Y10
	VMOVUPS ·geluConst+32(SB), Y11
	VMOVUPS ·geluConst+64(SB), Y12
	VMOVUPS ·geluConst+96(SB), Y13
gloop:
	CMPQ CX, $8
	JL   gdone
	VMOVUPS (SI), Y0
	VMULPS  Y11, Y0, Y1
	VMAXPS  Y12, Y1, Y1
	VMINPS  Y13, Y1, Y1
	VMULPS  Y1, Y1, Y2
	VMOVUPS ·geluConst+128(SB), Y3
	VFMADD213PS ·geluConst+160(SB), Y2, Y3
	VFMADD213PS ·geluConst+192(SB), Y2, Y3
	VFMADD213PS ·geluConst+224(SB), Y2, Y3
	VFMADD213PS ·geluConst+256(SB), Y2, Y3
	VFMADD213PS ·geluConst+288(SB), Y2, Y3
	VFMADD213PS ·geluConst+320(SB), Y2, Y3
	VMULPS  Y1, Y3, Y3
	VMOVUPS ·geluConst+352(SB), Y4
	VFMADD213PS ·geluConst+384(SB), Y2, Y4
	VFMADD213PS ·geluConst+416(SB), Y2, Y4
	VFMADD213PS ·geluConst+448(SB), Y2, Y4
	VFMADD213PS ·geluConst+480(SB), Y2, Y4
	VDIVPS  Y4, Y3, Y3
	VMULPS  Y10, Y0, Y0
	VFMADD213PS Y0, Y0, Y3
	VMOVUPS Y3, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  gloop
gdone:
	VZEROUPPER
	RET

// func expScaledSumAVX2(x *float32, n int, scale, shift float32) float32
//
// x[i] = e^(x[i]·scale + shift) for i < n, n a multiple of 8, for
// arguments ≤ 88 (softmax feeds x·scale − max ≤ 0), returning the sum of
// the results: the algorithm of Exp32, flushing below −87.3 to 0.
TEXT ·expScaledSumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS scale+16(FP), Y6
	VBROADCASTSS shift+20(FP), Y7
	VXORPS  Y8, Y8, Y8
	VMOVUPS ·expsConst+0(SB), Y10
	VMOVUPS ·expsConst+32(SB), Y11
	VMOVUPS ·expsConst+64(SB), Y12
	VMOVUPS ·expsConst+352(SB), Y13
	MOVL    $127, AX
	MOVQ    AX, X14
	VPBROADCASTD X14, Y14
eloop:
	CMPQ CX, $8
	JL   edone
	VMOVUPS (SI), Y0
	VFMADD213PS Y7, Y6, Y0
	VCMPPS  $1, Y10, Y0, Y9
	VMAXPS  Y10, Y0, Y0
	VMOVAPS Y0, Y1
	VFMADD213PS Y12, Y11, Y1
	VROUNDPS $1, Y1, Y1
	VMOVAPS Y0, Y2
	VFNMADD231PS ·expsConst+96(SB), Y1, Y2
	VFNMADD231PS ·expsConst+128(SB), Y1, Y2
	VMOVUPS ·expsConst+160(SB), Y3
	VFMADD213PS ·expsConst+192(SB), Y2, Y3
	VFMADD213PS ·expsConst+224(SB), Y2, Y3
	VFMADD213PS ·expsConst+256(SB), Y2, Y3
	VFMADD213PS ·expsConst+288(SB), Y2, Y3
	VFMADD213PS ·expsConst+320(SB), Y2, Y3
	VMULPS  Y2, Y2, Y4
	VFMADD213PS Y2, Y4, Y3
	VADDPS  Y13, Y3, Y3
	VCVTTPS2DQ Y1, Y5
	VPADDD  Y14, Y5, Y5
	VPSLLD  $23, Y5, Y5
	VMULPS  Y5, Y3, Y3
	VANDNPS Y3, Y9, Y3
	VMOVUPS Y3, (SI)
	VADDPS  Y3, Y8, Y8
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  eloop
edone:
	VEXTRACTF128 $1, Y8, X9
	VADDPS  X9, X8, X8
	VHADDPS X8, X8, X8
	VHADDPS X8, X8, X8
	VZEROUPPER
	MOVSS   X8, ret+24(FP)
	RET

// func reluAVX2(x *float32, n int)
//
// x[i] = max(0, x[i]) for i < n, n a multiple of 8. VMAXPS returns its
// second source when the comparison fails, here x[i]: a NaN stays NaN, as
// Go's max keeps it, and −0 stays −0 (Go's max gives +0; they compare
// equal).
TEXT ·reluAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
rloop32:
	CMPQ CX, $32
	JL   rloop8
	VMAXPS (SI), Y0, Y1
	VMAXPS 32(SI), Y0, Y2
	VMAXPS 64(SI), Y0, Y3
	VMAXPS 96(SI), Y0, Y4
	VMOVUPS Y1, (SI)
	VMOVUPS Y2, 32(SI)
	VMOVUPS Y3, 64(SI)
	VMOVUPS Y4, 96(SI)
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  rloop32
rloop8:
	CMPQ CX, $8
	JL   rdone
	VMAXPS (SI), Y0, Y1
	VMOVUPS Y1, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  rloop8
rdone:
	VZEROUPPER
	RET
